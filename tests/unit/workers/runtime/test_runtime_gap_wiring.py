"""The stage runner applies the gap guard (gaps.py) to every poll when offset_gap_wait_ms is
set (the embedded stack sets it): a partition handed an offset past the one it expected is sent
back there, its later records dropped from the poll, and the loop keeps polling briskly while
the gap is open. Off by default (on Kafka a gap is a transaction marker or compaction)."""

from __future__ import annotations

from _stage_runner import stage_runner
from confluent_kafka import TopicPartition

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"


def _message(partition: int, offset: int) -> InRecord:
    """A polled record (the poll loop builds records before the guard sees them)."""
    return InRecord(TOPIC, partition, offset, None, b"")


class _Consumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[int, int]] = []

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))


def _runner(wait_ms: int) -> tuple[StageRunner, _Consumer]:
    return stage_runner(_Consumer(), WorkerSettings(offset_gap_wait_ms=wait_ms))


def _offsets(records: list[InRecord]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in records]


def test_a_gap_sends_the_partition_back_and_keeps_the_other_partitions() -> None:
    runner, consumer = _runner(5_000)
    first = [_message(0, 0), _message(0, 1), _message(1, 7)]
    assert _offsets(runner._admit(first, now=0.0)) == [(0, 0), (0, 1), (1, 7)]
    idle_wait = runner._poll_timeout()
    # offset 2 of partition 0 is numbered but not stored yet: 3 and 4 come first
    later = [_message(0, 3), _message(0, 4), _message(1, 8)]
    assert _offsets(runner._admit(later, now=1.0)) == [(1, 8)]
    assert consumer.seeks == [(0, 2)]
    assert runner._poll_timeout() < idle_wait  # the loop comes back soon while a gap is open
    # the late batch is stored: the partition reads on from 2
    stored = [_message(0, 2), _message(0, 3), _message(0, 4)]
    assert _offsets(runner._admit(stored, now=2.0)) == [(0, 2), (0, 3), (0, 4)]


def test_a_gap_left_open_past_the_wait_is_stepped_over() -> None:
    runner, consumer = _runner(5_000)
    runner._admit([_message(0, 0)], now=0.0)
    assert runner._admit([_message(0, 2)], now=1.0) == []
    kept = runner._admit([_message(0, 2)], now=6.5)
    assert _offsets(kept) == [(0, 2)]
    assert consumer.seeks == [(0, 1)]


def test_off_by_default_every_record_passes() -> None:
    runner, consumer = _runner(0)
    messages = [_message(0, 0), _message(0, 5)]
    assert runner._admit(messages, now=0.0) == messages
    assert consumer.seeks == []
