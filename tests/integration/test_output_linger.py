"""The output producer lingers long so that a coalesced group of batches leaves as one produce
request, which is only safe because its flush sends at once: on the embedded broker, a group
queued in parts and made durable with one wait is acknowledged well within the flush timeout
even with a linger far beyond it, and every message is on the topic."""

from __future__ import annotations

import time
import uuid

from _kafka import read_topic
from _stack import Stack
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.workers.runtime.output import FLUSH_TIMEOUT_S, OutputProducer
from inferstream.workers.runtime.records import OutMessage


def test_a_group_queued_in_parts_is_durable_at_one_flush_despite_a_long_linger(
    stack: Stack,
) -> None:
    topic = f"test-linger-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(stack.kafka.admin_config())
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)
    # Twice the flush timeout: were the flush to wait for the linger, it would time out.
    kafka = stack.kafka.model_copy(update={"linger_ms": int(2_000 * FLUSH_TIMEOUT_S)})
    output = OutputProducer(kafka)
    keys = [f"k{n}".encode() for n in range(40)]
    try:
        output.begin()
        for part in (keys[:20], keys[20:]):  # two batches of one group
            output.queue([OutMessage(topic, key, b"v" + key) for key in part])
        started = time.monotonic()
        output.wait_durable()  # raises TransientError if anything is unacknowledged
        assert time.monotonic() - started < FLUSH_TIMEOUT_S
    finally:
        output.close()
    records = read_topic(stack.kafka, topic, until=lambda got: len(got) >= len(keys), deadline_s=60)
    assert sorted(r.key for r in records if r.key) == sorted(keys)
    assert {r.value for r in records} == {b"v" + key for key in keys}
