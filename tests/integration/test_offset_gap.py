"""A consumer of the embedded broker is not moved past a batch that is numbered but not stored
yet (inferstream/workers/runtime/gaps.py).

Tansu's s3 engine advances a partition's watermark.json before it writes the batch object, and
a fetch returns the stored batches at or after the fetch offset. With two producers on one
partition the later batch can be stored first, and a fetch in that window moves a plain
consumer past the earlier one for good (a chaos run lost an invalid submission's dead letter
that way: enrich never saw it). The window is made here deterministically on the session's
real broker: three single-record batches, then the middle batch's object is taken away (what
the broker holds between the two writes) and put back once the consumer has hit the gap. The
same window is shown to the guarded consumers of results.<task>, which several infer workers
write: the archive and infer's result follower.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from io import BytesIO

from _churn import churn_result
from _stack import Stack
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from minio import Minio

from inferstream.plugins import ResultFields
from inferstream.settings.archive import ArchiveSettings
from inferstream.stack import StackState
from inferstream.stack.tansu import TANSU_BUCKET
from inferstream.stack.tansu_repair import CLUSTER
from inferstream.storage import ObjectStore
from inferstream.workers.archive import parquet
from inferstream.workers.archive.driver import ArchiveWorker
from inferstream.workers.archive.policy import object_key
from inferstream.workers.infer.follower import ResultFollower
from inferstream.workers.runtime.gaps import GapGuard, admit_messages
from inferstream.workers.runtime.health import HealthState

DEADLINE_S = 60.0


def _consumer(stack: Stack, topic: str) -> Consumer:
    config = stack.kafka.consumer_config(f"test-offset-gap-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(config)
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    return consumer


class _Hole:
    """The middle batch's object, taken away from the broker's bucket until ``fill``."""

    def __init__(self, s3: Minio, name: str, stored: bytes) -> None:
        self.s3, self.name, self.stored = s3, name, stored

    def fill(self) -> None:
        self.s3.put_object(TANSU_BUCKET, self.name, BytesIO(self.stored), len(self.stored))

    def filled(self) -> bool:
        return any(
            o.object_name == self.name for o in self.s3.list_objects(TANSU_BUCKET, self.name)
        )


@contextmanager
def _middle_batch_not_stored(stack: Stack, topic: str, values: Sequence[bytes]) -> Iterator[_Hole]:
    """``topic`` (one partition) holding three single-record batches, offsets 0, 1 and 2, the
    middle one numbered (the watermark is 3) but not stored; put back at the end in any case."""
    kafka = stack.kafka
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer(kafka.producer_config())
    for n, value in enumerate(values):  # one batch each
        producer.produce(topic, value, key=b"k%d" % n, partition=0)
        assert producer.flush(30) == 0
    seaweed = StackState.load(stack.data_dir).seaweed
    assert seaweed is not None
    s3 = Minio(
        seaweed.endpoint, access_key=seaweed.access_key, secret_key=seaweed.secret_key, secure=False
    )
    middle = f"clusters/{CLUSTER}/topics/{topic}/partitions/{0:0>10}/records/{1:0>20}.batch"
    response = s3.get_object(TANSU_BUCKET, middle)
    try:
        hole = _Hole(s3, middle, response.read())
    finally:
        response.close()
        response.release_conn()
    s3.remove_object(TANSU_BUCKET, middle)
    try:
        yield hole
    finally:
        if not hole.filled():
            hole.fill()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} not in {DEADLINE_S:.0f} s"
        time.sleep(0.05)


def test_a_batch_stored_after_a_later_one_is_still_read(stack: Stack) -> None:
    topic = f"offset-gap-{uuid.uuid4().hex[:8]}"
    with _middle_batch_not_stored(stack, topic, (b"r0", b"r1", b"r2")) as hole:
        # A plain consumer is handed offset 2 after 0, and offset 1 never comes to it.
        plain = _consumer(stack, topic)
        try:
            seen: list[int] = []
            deadline = time.monotonic() + DEADLINE_S
            while 2 not in seen and time.monotonic() < deadline:
                seen += [m.offset() or 0 for m in plain.consume(10, 0.5) if m.error() is None]
        finally:
            plain.close()
        assert seen == [0, 2]

        # Behind the guard, the consumer waits at the gap, and reads offset 1 once it is stored.
        guarded = _consumer(stack, topic)
        guard = GapGuard(wait_s=DEADLINE_S)
        guard.expect((topic, 0), 0)
        try:
            got: list[int] = []
            put_back = False
            deadline = time.monotonic() + DEADLINE_S
            while len(got) < 3 and time.monotonic() < deadline:
                polled = guarded.consume(10, 0.5)
                kept, _ = admit_messages(guard, guarded, polled, time.monotonic())
                got += [m.offset() or 0 for m in kept if m.error() is None]
                if guard.waiting() and got == [0] and not put_back:
                    hole.fill()
                    put_back = True
        finally:
            guarded.close()
        assert put_back and got == [0, 1, 2]


def test_the_archive_writes_a_file_with_the_batch_stored_late(stack: Stack) -> None:
    task = f"gap{uuid.uuid4().hex[:8]}"
    topic = f"results.{task}"
    with _middle_batch_not_stored(stack, topic, (b"a0", b"a1", b"a2")) as hole:
        store = ObjectStore(stack.object_store)
        archive = ArchiveWorker(
            task,
            store,
            ArchiveSettings(max_records=3),  # one file of the three records
            stack.kafka,
            f"test-offset-gap-archive-{uuid.uuid4().hex[:8]}",
            HealthState(stale_after_s=60),
            gap_wait_s=DEADLINE_S,
        )
        thread = threading.Thread(target=archive.run, daemon=True)
        thread.start()
        try:
            assert archive.gaps is not None
            gaps = archive.gaps
            # offset 0 in the open file, 2 sent back to 1
            _until(lambda: gaps.waiting() and archive.buffered() == 1, "the archive at the gap")
            hole.fill()
            key = object_key(task, topic, 0, 0)
            _until(lambda: store.stat(key) is not None, "the archive's file")
        finally:
            archive.request_stop()
            thread.join(30)
            archive.consumer.close()
        table = parquet.decode(store.get_bytes(key))
        assert table.column("offset").to_pylist() == [0, 1, 2]
        assert table.column("result").to_pylist() == ["a0", "a1", "a2"]


def test_the_result_follower_indexes_the_batch_stored_late(stack: Stack) -> None:
    topic = f"results-offset-gap-{uuid.uuid4().hex[:8]}"
    values = [churn_result(f"s{n}") for n in range(3)]
    with _middle_batch_not_stored(stack, topic, values) as hole:
        seen: list[str] = []

        def observe(results: Sequence[ResultFields]) -> None:
            seen.extend(str(r["submission_id"]) for r in results)

        follower = ResultFollower(
            stack.kafka, topic, "churn", {0: 0}, observe, check_interval_s=3600, gap_wait_s=60
        )
        follower.start(catch_up_timeout_s=0)  # the pass waits at the gap: do not wait for it
        try:
            assert follower.gaps is not None
            gaps = follower.gaps
            _until(lambda: gaps.waiting() and seen == ["s0"], "the follower at the gap")
            hole.fill()
            _until(lambda: len(seen) == 3, "the late batch in the index")
            assert seen == ["s0", "s1", "s2"]
            _until(follower.caught_up.is_set, "the pass's end")
        finally:
            follower.stop()
