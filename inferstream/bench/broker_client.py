"""The Kafka side of the "broker" scenario (bench/broker.py): its topic, an idempotent acks=all
producer, reading every partition back from the beginning, and the group offsets it commits and
reads back after a kill -9."""

from __future__ import annotations

import os
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.bench.harness import BenchError

TOPIC = "bench.broker"
GROUP = "bench.broker.group"


def produce(bootstrap: str, size: int, count: int) -> float:
    """Seconds to produce ``count`` records of ``size`` random bytes, all acknowledged."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "log_level": 0,
        }
    )
    failed: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(str(err))

    value = os.urandom(size)
    started = time.perf_counter()
    for i in range(count):
        while True:
            try:
                producer.produce(TOPIC, value, str(i).encode(), on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120) or failed:
        raise BenchError(f"produce: {len(failed)} failed deliveries, e.g. {failed[:1]}")
    return time.perf_counter() - started


def _consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 20,
            "log_level": 0,
        }
    )


def read_all(
    bootstrap: str, partitions: int, group: str, deadline_s: float, total: int
) -> tuple[int, float]:
    """Records read from the beginning of every partition until ``total`` or 5 s without any."""
    consumer = _consumer(bootstrap, group)
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(partitions)])
    got, started, idle_since = 0, time.perf_counter(), time.monotonic()
    deadline = time.monotonic() + deadline_s
    try:
        while got < total and time.monotonic() < deadline:
            batch = consumer.consume(1000, 0.2)
            ok = [m for m in batch if m.error() is None]
            got += len(ok)
            if ok:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 5.0:
                break
    finally:
        elapsed = time.perf_counter() - started
        consumer.close()
    return got, elapsed


def commit_some(bootstrap: str, records: int, partitions: int) -> list[TopicPartition]:
    """Commit the group's offsets somewhere inside each partition; the offsets committed."""
    consumer = _consumer(bootstrap, GROUP)
    # Distinct per partition, well inside each one, so a reset to 0 or a mix-up shows.
    first = records // (4 * partitions)
    offsets = [TopicPartition(TOPIC, p, first + p) for p in range(partitions)]
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()
    return offsets


def committed(bootstrap: str, partitions: int) -> list[int]:
    """The group's committed offsets per partition ([] when the broker does not answer)."""
    consumer = _consumer(bootstrap, GROUP)
    try:
        parts = [TopicPartition(TOPIC, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(parts, timeout=15)]
    except KafkaException:
        return []
    finally:
        consumer.close()


def create_topic(bootstrap: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    futures = admin.create_topics([NewTopic(TOPIC, partitions, 1)])
    for future in futures.values():
        future.result(30)
