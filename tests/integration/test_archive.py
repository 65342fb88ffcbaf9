"""The archive stage against the real stack: results topic -> `inferstream worker archive` ->
Parquet objects in SeaweedFS, byte-identical to what the pure policy and encoder make of the
topic, before and after a SIGKILL of the worker mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from _stack import Stack
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.errors import FatalStageError
from inferstream.settings import KafkaSettings
from inferstream.settings.archive import ArchiveSettings
from inferstream.storage import ObjectStore
from inferstream.topology import group_id, topic_name
from inferstream.verify.archive import committed_offsets
from inferstream.workers.archive import driver as archive_driver
from inferstream.workers.archive import parquet
from inferstream.workers.archive.driver import ArchiveWorker
from inferstream.workers.archive.policy import (
    ArchiveRecord,
    ClosedFile,
    RotationPolicy,
    Rotator,
    object_key,
)
from inferstream.workers.runtime.health import HealthState

pytestmark = pytest.mark.integration

TASK = "archive_it"  # a topic of its own: no other test's results land on it
TOPIC = f"results.{TASK}"
PARTITIONS = 3
POLICY = RotationPolicy(max_records=7, window_ms=1_000)
T0 = 1_800_000_000_000  # record time (ms), set by the producer: windows cut deterministically


@pytest.fixture(scope="module")
def topic(stack: Stack) -> str:
    admin = AdminClient(stack.kafka.admin_config())
    futures = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    futures[TOPIC].result(timeout=30)
    return TOPIC


def _produce(kafka: KafkaSettings, first: int, n: int) -> None:
    producer = Producer(kafka.producer_config())
    for i in range(first, first + n):
        sid = str(uuid.UUID(int=i + 1))
        value = {
            "result_id": f"{i:064x}",
            "submission_id": sid,
            "task": TASK,
            "schema_version": 1,
            "model_name": "m",
            "model_version": "1",
            "produced_at": "2026-12-06T06:00:00+00:00",
            "score": i / 7,
        }
        # 40 ms of record time apart: per partition, a 1 s window holds 8-9 records, so files
        # are closed by count (7) and by record time (the rest of the window).
        producer.produce(
            TOPIC,
            orjson.dumps(value),
            sid.encode(),
            partition=i % PARTITIONS,
            timestamp=T0 + 40 * i,
        )
    assert producer.flush(30) == 0


def _topic_records(kafka: KafkaSettings) -> dict[int, list[ArchiveRecord]]:
    consumer = Consumer(
        {**kafka.consumer_config(f"test-{uuid.uuid4()}"), "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    records: dict[int, list[ArchiveRecord]] = {p: [] for p in range(PARTITIONS)}
    at_end: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while len(at_end) < PARTITIONS:
            assert time.monotonic() < deadline, "results topic not read to its end"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error, part = msg.error(), int(msg.partition() or 0)
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error.str()
                at_end.add(part)
                continue
            at_end.discard(part)
            key, value = msg.key(), msg.value()
            records[part].append(
                ArchiveRecord(
                    int(msg.offset() or 0),
                    msg.timestamp()[1],
                    key if isinstance(key, bytes) else None,
                    value if isinstance(value, bytes) else b"",
                )
            )
    finally:
        consumer.close()
    return records


def _expected(records: dict[int, list[ArchiveRecord]]) -> tuple[dict[str, bytes], dict[int, int]]:
    """The objects the pure policy + encoder make of the topic, and the offsets to commit."""
    files: list[ClosedFile] = []
    for part, recs in records.items():
        rotator = Rotator(TOPIC, part, POLICY)
        files += [f for r in recs for f in rotator.add(r)]
    objects = {
        object_key(TASK, f.topic, f.partition, f.start_offset): parquet.encode(
            f.topic, f.partition, f.records
        )
        for f in files
    }
    ends: dict[int, int] = {}
    for f in files:
        ends[f.partition] = max(ends.get(f.partition, 0), f.next_offset)
    return objects, ends


class Archiver:
    """`inferstream worker archive` as a subprocess of this test."""

    def __init__(self, stack: Stack, prefix: str, log: Path) -> None:
        self.env = {
            **stack.env,
            "INFERSTREAM_WORKER_GROUP_PREFIX": prefix,
            "INFERSTREAM_ARCHIVE_MAX_RECORDS": str(POLICY.max_records),
            "INFERSTREAM_ARCHIVE_WINDOW_MS": str(POLICY.window_ms),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "inferstream", "worker", "archive", "--task", TASK]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*argv, "--metrics-port", "0"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, self.log.read_text()[-3000:]


@pytest.fixture
def store(stack: Stack) -> Iterator[ObjectStore]:
    objects = ObjectStore(stack.object_store)
    yield objects
    for key in objects.list_keys(f"archive/{TASK}/"):
        objects.delete(key)


def _wait_for(what: str, done: object, archiver: Archiver, deadline_s: float = 90.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not done():  # type: ignore[operator]
        archiver.alive()
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s:.0f}s"
        time.sleep(0.2)


def _archived(store: ObjectStore) -> dict[str, bytes]:
    return {key: store.get_bytes(key) for key in store.list_keys(f"archive/{TASK}/")}


def _complete(
    stack: Stack, store: ObjectStore, prefix: str, objects: dict[str, bytes], ends: dict[int, int]
) -> bool:
    group = group_id("archive", TASK, prefix)
    committed = committed_offsets(stack.kafka, group, TOPIC)
    return committed == ends and set(store.list_keys(f"archive/{TASK}/")) >= set(objects)


def test_the_archive_is_exactly_once_across_a_sigkill(
    stack: Stack, topic: str, store: ObjectStore, tmp_path: Path
) -> None:
    kafka = stack.kafka
    _produce(kafka, 0, 60)
    # 1. Uninterrupted: the objects are exactly what the pure policy makes of the topic.
    expected, ends = _expected(_topic_records(kafka))
    assert len(expected) >= 9 and all(n > 0 for n in ends.values())
    first = Archiver(stack, f"it-{uuid.uuid4().hex[:6]}", tmp_path / "first.log")
    first.start()
    try:
        _wait_for(
            "uninterrupted archive",
            lambda: _complete(
                stack, store, first.env["INFERSTREAM_WORKER_GROUP_PREFIX"], expected, ends
            ),
            first,
        )
    finally:
        first.stop()
    uninterrupted = _archived(store)
    assert uninterrupted == expected  # same keys, same bytes; open files not written
    rows = pa.concat_tables([parquet.decode(data) for data in uninterrupted.values()])
    by_offset = {(r["partition"], r["offset"]): r for r in rows.to_pylist()}
    for part, recs in _topic_records(kafka).items():
        for record in recs:
            if record.offset < ends[part]:
                row = by_offset.pop((part, record.offset))
                message = orjson.loads(record.value)
                assert row["result_id"] == message["result_id"]
                assert orjson.loads(row["result"]) == {"score": message["score"]}
    assert by_offset == {}, "rows the topic does not have"

    # 2. Another group from scratch, SIGKILLed with files open mid-stream, then restarted
    #    while more records arrive: the object set is again exactly the uninterrupted one.
    for key in uninterrupted:
        store.delete(key)
    prefix = f"it-{uuid.uuid4().hex[:6]}"
    second = Archiver(stack, prefix, tmp_path / "second.log")
    second.start()
    try:
        _wait_for("a first file", lambda: len(store.list_keys(f"archive/{TASK}/")) >= 3, second)
        second.kill()
        _produce(kafka, 60, 40)
        expected, ends = _expected(_topic_records(kafka))
        second.start()
        _wait_for(
            "archive after the restart",
            lambda: _complete(stack, store, prefix, expected, ends),
            second,
        )
    finally:
        second.stop()
    assert _archived(store) == expected


def _worker(stack: Stack, task: str) -> ArchiveWorker:
    return ArchiveWorker(
        task,
        ObjectStore(stack.object_store),
        ArchiveSettings(),
        stack.kafka,
        f"it-topic-wait-{uuid.uuid4().hex[:6]}",
        HealthState(stale_after_s=60),
    )


def test_a_missing_input_topic_is_waited_for_then_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker on s3:// storage answers metadata without its topics while S3 is down: the
    archive waits for the topic instead of exiting, and refuses a topic that never comes."""
    task = f"wait{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr(archive_driver, "TOPIC_WAIT_S", 60.0)
    admin = AdminClient(stack.kafka.admin_config())  # held: a dropped client cancels its futures
    topic = topic_name("results", task)
    created = threading.Timer(
        3.0, lambda: admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    )
    created.start()
    started = time.monotonic()
    _worker(stack, task)._check_topic()  # returns once the topic exists
    created.join()
    assert time.monotonic() - started >= 2.5

    monkeypatch.setattr(archive_driver, "TOPIC_WAIT_S", 3.0)
    with pytest.raises(FatalStageError, match="does not exist after 3 s"):
        _worker(stack, f"never{uuid.uuid4().hex[:6]}")._check_topic()
