"""Topics read back to their end (or followed): verify's facts, the feedback evaluation and
the tests all read topics this way. Outside inferstream.verify, whose package loads the archive
checks (pyarrow, numpy): a reader needs the Kafka client and the settings only."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from inferstream.settings import KafkaSettings

STABLE_S = 1.0  # a partition's end must hold this long with no new record


class TopicMissing(LookupError):
    """The topic to read does not exist on the broker."""


def read_all(
    kafka: KafkaSettings, topic: str, deadline_s: float = 300.0, *, follow: bool = False
) -> Iterator[Message]:
    """Every message of every partition, from the beginning to the high watermarks; with
    ``follow``, on past them until the caller stops iterating (a reader waiting for records
    still to come).

    Tansu's ListOffsets answer is not the end of a partition for multi-record batches (measured:
    1 for a partition of 1,251 records, docs/architecture.md), so a partition counts as read when
    the consumer's position has reached the high watermark of the fetch responses (the
    partition-EOF event) and at least the listed end, and stayed there STABLE_S with no new
    record. Records that never arrive make it a TimeoutError, never a silent short read; so
    does a follower the caller has not stopped by the deadline. No consumer group: nothing is
    committed."""
    consumer = Consumer(
        {
            **kafka.consumer_config(f"inferstream.verify.{uuid.uuid4().hex[:8]}"),
            "enable.partition.eof": True,
        }
    )
    try:
        partitions = _partitions(consumer, topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        position = dict.fromkeys(partitions, 0)
        at_end_since: dict[int, float] = {}
        deadline = time.monotonic() + deadline_s
        while follow or not _all_read(consumer, topic, position, at_end_since):
            if time.monotonic() > deadline:
                waiting = sorted(set(partitions) - set(at_end_since))
                what = "followed" if follow else "not read to the end"
                raise TimeoutError(
                    f"{topic}: {what} within {deadline_s:.0f}s "
                    f"(positions {position}, partitions not at their end: {waiting})"
                )
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                part, error = int(msg.partition() or 0), msg.error()
                if error is None:
                    position[part] = int(msg.offset() or 0) + 1
                    at_end_since.pop(part, None)
                    yield msg
                elif error.code() == KafkaError._PARTITION_EOF:
                    position[part] = max(position[part], int(msg.offset() or 0))
                    at_end_since.setdefault(part, time.monotonic())
                elif error.fatal():
                    raise KafkaException(error)
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=15).topics.get(topic)
    if meta is None or (
        meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    ):
        raise TopicMissing(f"topic {topic} does not exist")
    return sorted(meta.partitions)


def _all_read(
    consumer: Consumer, topic: str, position: dict[int, int], at_end_since: dict[int, float]
) -> bool:
    now = time.monotonic()
    if len(at_end_since) < len(position) or any(
        now - since < STABLE_S for since in at_end_since.values()
    ):
        return False
    for part in position:
        _, listed = consumer.get_watermark_offsets(
            TopicPartition(topic, part), timeout=10, cached=False
        )
        if position[part] < listed:
            at_end_since.pop(part)  # the broker lists more than the fetches showed: keep reading
    return len(at_end_since) == len(position)
