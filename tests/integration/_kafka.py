"""Test helpers that read topics back (deadline-polled, never slept), and that start a group
at the current end of topics other tests of the session also write."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from confluent_kafka import Consumer, Message, TopicPartition

from inferstream.readback import read_all
from inferstream.settings import KafkaSettings
from inferstream.storage import offsets


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int


def read_topic(
    settings: KafkaSettings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    deadline_s: float = 60.0,
) -> list[Record]:
    """Read the topic from the beginning until `until` holds (records still to come are
    waited for: read_all follows the topic)."""
    records: list[Record] = []
    if until(records):
        return records
    try:
        for msg in read_all(settings, topic, deadline_s, follow=True):
            records.append(_record(msg))
            if until(records):
                break
    except TimeoutError:
        raise AssertionError(f"{topic}: condition not met within {deadline_s}s") from None
    return records


def _record(msg: Message) -> Record:
    value = msg.value()
    return Record(
        key=msg.key() if isinstance(msg.key(), bytes) else None,  # type: ignore[arg-type]
        value=value if isinstance(value, bytes) else b"",
        headers={k: v or b"" for k, v in (msg.headers() or [])},
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
    )


def topic_ends(settings: KafkaSettings, topic: str) -> dict[int, int]:
    """Each non-empty partition's next offset after the records it holds now: read to the end
    (the embedded broker's listed ends are wrong for multi-record batches)."""
    ends: dict[int, int] = {}
    for msg in read_all(settings, topic, deadline_s=120):
        ends[msg.partition() or 0] = (msg.offset() or 0) + 1
    return ends


def store_offsets_at_the_end(
    settings: KafkaSettings, conninfo: str, group: str, topics: Iterable[str]
) -> None:
    """Store ``group``'s offsets in Postgres (where the monitor, the sink and the shadow keep
    theirs) at the topics' ends as read now: a worker of that group then skips what other tests
    of the session wrote before, instead of processing all of it first."""
    names = list(topics)
    with ThreadPoolExecutor(max(1, len(names))) as pool:  # each read waits ~1 s at its end
        per_topic = list(pool.map(lambda topic: topic_ends(settings, topic), names))
    ends = {
        (topic, p): end
        for topic, found in zip(names, per_topic, strict=True)
        for p, end in found.items()
    }
    with psycopg.connect(conninfo) as conn:
        offsets.store(conn, group, ends)


def commit_at_the_end(settings: KafkaSettings, group: str, topic: str) -> None:
    """The same for a group whose offsets the broker keeps (the webhooks stage)."""
    ends = topic_ends(settings, topic)
    if not ends:
        return
    consumer = Consumer(settings.consumer_config(group))
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, p, end) for p, end in sorted(ends.items())],
            asynchronous=False,
        )
    finally:
        consumer.close()
