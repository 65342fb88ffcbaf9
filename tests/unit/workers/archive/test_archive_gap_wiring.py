"""The archive's poll loop applies the gap guard (runtime/gaps.py) when the worker's
offset_gap_wait_ms is set: several infer workers write results.<task>, and on the embedded
broker a later batch can be fetched before an earlier one is stored. An assigned partition is
expected at its committed offset, so a file never starts past a record a replay would start it
at; revoke and loss forget a partition's count."""

from __future__ import annotations

from collections import deque

import structlog
from _fake_message import FakeMessage
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from structlog.testing import capture_logs

from inferstream.workers.archive.driver import ArchiveWorker
from inferstream.workers.archive.policy import RotationPolicy
from inferstream.workers.runtime.gaps import GapGuard

TOPIC = "results.bug_report"


def _message(partition: int, offset: int) -> FakeMessage:
    return FakeMessage(TOPIC, partition, offset, b"k%d" % offset, b"{}")


class _Consumer:
    """Hands out scripted polls; records seeks; answers committed offsets."""

    def __init__(self, committed: dict[int, int] | None) -> None:
        self.polls: deque[list[FakeMessage]] = deque()
        self.seeks: list[tuple[int, int]] = []
        self._committed = committed

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        return self.polls.popleft() if self.polls else []

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        if self._committed is None:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        return [
            TopicPartition(tp.topic, tp.partition, self._committed.get(tp.partition, -1001))
            for tp in partitions
        ]


class _Health:
    def progressed(self) -> None:
        return None


def _worker(consumer: _Consumer, wait_s: float) -> ArchiveWorker:
    worker = ArchiveWorker.__new__(ArchiveWorker)  # no broker, store or group needed here
    worker.consumer = consumer  # type: ignore[assignment]
    worker.policy = RotationPolicy(1_000, 0)
    worker.health = _Health()  # type: ignore[assignment]
    worker.gaps = GapGuard(wait_s) if wait_s > 0 else None
    worker._rotators, worker._pending = {}, deque()
    worker._paused, worker._retry_at = False, 0.0
    worker.log = structlog.get_logger("test")
    return worker


def _assign(worker: ArchiveWorker, *partitions: int) -> None:
    tps = [TopicPartition(TOPIC, p) for p in partitions]
    worker._on_assign(worker.consumer, tps)


def _buffered(worker: ArchiveWorker, partition: int) -> list[int]:
    return [r.offset for r in worker._rotators[(TOPIC, partition)]._open]


def _poll(worker: ArchiveWorker, *messages: FakeMessage) -> None:
    worker.consumer.polls.append(list(messages))  # type: ignore[attr-defined]
    worker._poll_once()


def test_a_gap_sends_the_partition_back_and_the_file_stays_contiguous() -> None:
    consumer = _Consumer({0: 5, 1: 0})
    worker = _worker(consumer, wait_s=5.0)
    _assign(worker, 0, 1)
    _poll(worker, _message(0, 5), _message(1, 0))
    # offset 6 of partition 0 is numbered but not stored yet: 7 and 8 come first
    _poll(worker, _message(0, 7), _message(0, 8), _message(1, 1))
    assert consumer.seeks == [(0, 6)]
    assert _buffered(worker, 0) == [5] and _buffered(worker, 1) == [0, 1]
    _poll(worker, _message(0, 6), _message(0, 7), _message(0, 8))  # the late batch is stored
    assert _buffered(worker, 0) == [5, 6, 7, 8]


def test_the_first_fetch_after_an_assignment_is_checked_against_the_committed_offset() -> None:
    consumer = _Consumer({0: 5})
    worker = _worker(consumer, wait_s=5.0)
    _assign(worker, 0)
    _poll(worker, _message(0, 7))  # 5 and 6 not stored yet: a file must not start at 7
    assert consumer.seeks == [(0, 5)]
    assert _buffered(worker, 0) == []


def test_a_partition_without_a_committed_offset_counts_from_its_first_record() -> None:
    consumer = _Consumer({})
    worker = _worker(consumer, wait_s=5.0)
    _assign(worker, 0)
    _poll(worker, _message(0, 3), _message(0, 4))
    assert consumer.seeks == [] and _buffered(worker, 0) == [3, 4]
    unanswered = _worker(_Consumer(None), wait_s=5.0)  # committed() timed out
    _assign(unanswered, 0)
    _poll(unanswered, _message(0, 9))
    assert _buffered(unanswered, 0) == [9]


def test_revoke_and_loss_forget_the_count() -> None:
    consumer = _Consumer(None)
    worker = _worker(consumer, wait_s=5.0)
    _assign(worker, 0)
    _poll(worker, _message(0, 3))
    worker._on_drop(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    _assign(worker, 0)
    _poll(worker, _message(0, 40))  # another owner archived 4..39 meanwhile
    assert consumer.seeks == [] and _buffered(worker, 0) == [40]


def test_a_gap_left_open_past_the_wait_is_stepped_over() -> None:
    consumer = _Consumer({0: 0})
    worker = _worker(consumer, wait_s=5.0)
    _assign(worker, 0)
    worker._admit([_message(0, 0)], now=0.0)  # type: ignore[list-item]
    assert worker._admit([_message(0, 2)], now=1.0) == []  # type: ignore[list-item]
    kept = worker._admit([_message(0, 2)], now=6.5)  # type: ignore[list-item]
    assert [m.offset() for m in kept] == [2]


def test_off_every_record_passes() -> None:
    consumer = _Consumer({0: 5})
    worker = _worker(consumer, wait_s=0.0)
    _assign(worker, 0)
    _poll(worker, _message(0, 7), _message(0, 9))
    assert consumer.seeks == [] and _buffered(worker, 0) == [7, 9]


def test_a_partition_sent_back_into_the_open_file_goes_on_from_there() -> None:
    """An offset reset hands records the open file holds again: no crash (the archive used to
    stop at it), the file keeps what comes before them and holds each offset once."""
    worker = _worker(_Consumer({0: 0}), wait_s=0.0)
    _assign(worker, 0)
    _poll(worker, *(_message(0, o) for o in range(5)))
    _poll(worker, *(_message(0, o) for o in range(2, 7)))
    assert _buffered(worker, 0) == list(range(7))
    _poll(worker, _message(0, 0), _message(0, 1))
    assert _buffered(worker, 0) == [0, 1]


def test_a_partition_sent_back_into_a_closed_file_starts_no_file_inside_it() -> None:
    """An offset reset into a file closed already: its records are skipped up to its end
    (logged once), so the next file starts where one pass starts it and no key overlaps the
    closed file (the archive used to start a file at the reset offset)."""
    worker = _worker(_Consumer({0: 0}), wait_s=0.0)
    worker.policy = RotationPolicy(3, 0)
    _assign(worker, 0)
    for offset in range(5):
        worker._add(_message(0, offset))  # type: ignore[arg-type]
    with capture_logs() as logs:
        for offset in range(1, 7):
            worker._add(_message(0, offset))  # type: ignore[arg-type]
    starts = [(f.start_offset, f.next_offset) for f in worker._pending]
    assert starts == [(0, 3), (3, 6)]
    assert _buffered(worker, 0) == [6]
    skipped = [e for e in logs if "into a closed file" in e["event"]]
    assert len(skipped) == 1 and skipped[0]["offset"] == 1 and skipped[0]["archived_to"] == 3
