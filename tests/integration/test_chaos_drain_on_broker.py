"""A chaos run drains only once the stages before the sink have committed their inputs to the
end (inferstream/chaos/drain.py): the committed offsets of a consumer group against a topic's
end, on the real broker, in a topic and a group of this test's own."""

from __future__ import annotations

import uuid

from _stack import Stack
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.chaos.drain import inputs_behind

PER_PARTITION = {0: 3, 1: 5}


def _commit(stack: Stack, group: str, offsets: dict[int, int], topic: str) -> None:
    """Commit as a worker of the group does, without joining it (an assigned consumer)."""
    consumer = Consumer(stack.kafka.consumer_config(group))
    try:
        parts = [TopicPartition(topic, p, o) for p, o in offsets.items()]
        consumer.assign(parts)
        consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


def test_a_group_is_behind_until_it_committed_each_partition_to_its_end(stack: Stack) -> None:
    topic = f"test-drain-{uuid.uuid4().hex[:8]}"
    group = f"test-drain-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(stack.kafka.admin_config())
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)
    producer = Producer(stack.kafka.producer_config())
    for partition, count in PER_PARTITION.items():
        for i in range(count):
            producer.produce(topic, f"{partition}-{i}".encode(), partition=partition)
    assert producer.flush(60) == 0

    # Nothing committed: each partition counts from 0.
    assert inputs_behind(stack.kafka, [(group, topic)]) == {(topic, 0): (0, 3), (topic, 1): (0, 5)}
    # A batch still to be redone on partition 1 (committed short of the end) keeps it behind.
    _commit(stack, group, {0: 3, 1: 4}, topic)
    assert inputs_behind(stack.kafka, [(group, topic)]) == {(topic, 1): (4, 5)}
    _commit(stack, group, {1: 5}, topic)
    assert inputs_behind(stack.kafka, [(group, topic)]) == {}
    # Another group on the same topic has its own offsets.
    other = f"{group}-other"
    assert inputs_behind(stack.kafka, [(other, topic)]) == {(topic, 0): (0, 3), (topic, 1): (0, 5)}
