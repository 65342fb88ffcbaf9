"""A frozen broker recovers by itself: Tansu on its durable s3:// storage, SIGSTOPped for twice
the group's session timeout with a consumer group member attached, then SIGCONTed. Afterwards
the group's committed offsets are served unchanged, a produce is acknowledged, and the same
member (evicted meanwhile: it could not heartbeat) rejoins and consumes what was produced after
the freeze, from its committed offsets, without re-reading the records before them.

This is the chaos run's "pause broker" fault in isolation, on a fresh embedded stack of its own
(freezing the integration session's broker would stall every other test's clients)."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.chaos import faults
from inferstream.settings import KafkaSettings
from inferstream.stack import StackState

TOPIC = "chaos.freeze"
GROUP = "chaos-freeze"
PARTITIONS = 4
BEFORE, AFTER = 400, 200
# The member's session timeout (the embedded stack writes 6 s; Tansu accepts less) with four
# heartbeats in it, so that a loaded machine does not evict the member before the freeze: the
# freeze outlasts it twice, so the broker must evict the member then, at about half the 15 s
# freeze a 6 s session needed.
SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS = 4000, 1000
FREEZE_S = 2 * SESSION_TIMEOUT_MS / 1000
RECOVERY_DEADLINE_S = 120.0


def _produce(kafka: KafkaSettings, start: int, count: int) -> None:
    producer = Producer(kafka.producer_config())
    for i in range(start, start + count):
        producer.produce(TOPIC, str(i).encode(), key=str(i).encode())
    assert producer.flush(60) == 0, "records not acknowledged within 60 s"


def _consume(consumer: Consumer, count: int, deadline_s: float) -> list[int]:
    """Poll until ``count`` records arrived or the deadline passed; their values. Their offsets
    are stored for the next commit (the workers' consumers do not store them automatically)."""
    seen: list[int] = []
    deadline = time.monotonic() + deadline_s
    while len(seen) < count and time.monotonic() < deadline:
        for msg in consumer.consume(500, 0.5):
            if msg.error() is None:
                seen.append(int(msg.value() or b"-1"))
                consumer.store_offsets(msg)
    return seen


def _committed(kafka: KafkaSettings) -> list[int]:
    # A separate client, as a worker starting after the freeze would ask (OffsetFetch).
    probe = Consumer(kafka.consumer_config(GROUP))
    try:
        parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        return [tp.offset for tp in probe.committed(parts, timeout=30)]
    finally:
        probe.close()


@pytest.mark.timeout(420)
def test_frozen_broker_serves_offsets_and_the_group_again(
    s3_stack: StackState, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert s3_stack.tansu is not None and s3_stack.tansu.storage == "s3"
    monkeypatch.setenv("INFERSTREAM_KAFKA_SESSION_TIMEOUT_MS", str(SESSION_TIMEOUT_MS))
    monkeypatch.setenv("INFERSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS", str(HEARTBEAT_INTERVAL_MS))
    kafka = KafkaSettings.load()
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(timeout=30)
    _produce(kafka, 0, BEFORE)

    member = Consumer(kafka.consumer_config(GROUP))
    # The sizes of the member's assignments: before the freeze, and again once it rejoined.
    joins: list[int] = []
    member.subscribe([TOPIC], on_assign=lambda _c, parts: joins.append(len(parts)))
    try:
        assert sorted(_consume(member, BEFORE, 90)) == list(range(BEFORE))
        joined_before = len(joins)
        member.commit(asynchronous=False)
        committed = _committed(kafka)
        assert sum(committed) == BEFORE

        # The member keeps polling through the freeze, as a worker does.
        frozen_s = faults.pause([s3_stack.tansu.pid], FREEZE_S, threading.Event())
        assert frozen_s >= FREEZE_S - 0.5
        resumed = time.monotonic()

        assert _committed(kafka) == committed
        _produce(kafka, BEFORE, AFTER)
        after = _consume(member, AFTER, RECOVERY_DEADLINE_S)
        recovery_s = time.monotonic() - resumed
    finally:
        member.close()
    # Evicted during the freeze (it could not heartbeat), the member was assigned again.
    assert joined_before >= 1 and len(joins) > joined_before, joins
    # Exactly the new records: nothing before the committed offsets came back.
    assert sorted(after) == list(range(BEFORE, BEFORE + AFTER)), (
        f"{len(after)}/{AFTER} records {recovery_s:.0f}s after SIGCONT"
    )
