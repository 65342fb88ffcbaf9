"""infer's result follower reads results.<task>, which several infer workers write: each pass
applies the gap guard (runtime/gaps.py), so a batch stored after a later one is still read
into the index instead of being passed for good. The pass starts each partition at its known
position, and the end-of-partition event that comes with a batch past a gap does not end it.
And a key this worker registered but never saw acknowledged is not its own any more: another
worker's result with that key is indexed (own.py)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from _churn import churn_result
from _fake_message import FakeMessage
from confluent_kafka import TopicPartition

from inferstream.plugins import ResultFields
from inferstream.workers.infer.follower import FollowerStats, ResultFollower
from inferstream.workers.infer.own import OwnResults
from inferstream.workers.runtime.gaps import GapGuard

TOPIC = "results.churn"


def _message(partition: int, offset: int, *, eof: bool = False) -> FakeMessage:
    key = b"s%d-%d" % (partition, offset)
    return FakeMessage(TOPIC, partition, offset, key, churn_result(key.decode()), eof)


def _eof(partition: int, offset: int) -> FakeMessage:
    return _message(partition, offset, eof=True)


class _Consumer:
    def __init__(self, polls: Sequence[list[FakeMessage]]) -> None:
        self.polls = deque(polls)
        self.seeks: list[tuple[int, int]] = []
        self.assigned: list[tuple[int, int]] = []

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = [(tp.partition, tp.offset) for tp in tps]

    def unassign(self) -> None:
        return None

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        return self.polls.popleft() if self.polls else []

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))


def _follower(
    consumer: _Consumer, positions: dict[int, int], wait_s: float, own: OwnResults | None = None
) -> tuple[ResultFollower, list[str]]:
    seen: list[str] = []

    def observe(results: Sequence[ResultFields]) -> None:
        seen.extend(str(r["submission_id"]) for r in results)

    follower = ResultFollower.__new__(ResultFollower)  # no broker: the consumer is scripted
    follower.topic, follower.task, follower.observe, follower.own = TOPIC, "churn", observe, own
    follower.consumer = consumer  # type: ignore[assignment]
    follower.gaps = GapGuard(wait_s) if wait_s > 0 else None
    follower._positions = dict(positions)
    follower.stats = FollowerStats()
    follower.caught_up = threading.Event()
    follower._stop = threading.Event()
    return follower, seen


# Partition 0 from offset 3: offsets 3-4 are numbered but not stored when 5 is fetched, and the
# broker reports the partition's end (6) with it; partition 1 is at its end.
GAP_POLLS = [
    [_message(0, 5), _eof(0, 6), _eof(1, 0)],
    [_message(0, 3), _message(0, 4), _message(0, 5), _eof(0, 6)],  # the late batch is stored
]


def test_a_pass_waits_at_a_gap_and_reads_the_late_batch() -> None:
    consumer = _Consumer(GAP_POLLS)
    follower, seen = _follower(consumer, {0: 3, 1: 0}, wait_s=5.0)
    follower._read()
    assert consumer.assigned == [(0, 3), (1, 0)]
    assert consumer.seeks == [(0, 3)]
    assert seen == ["s0-3", "s0-4", "s0-5"]
    assert follower._positions == {0: 6, 1: 0}


def test_without_the_guard_the_pass_ends_past_the_gap() -> None:
    # What the guard prevents: the pass ends at the end reported past 3-4, and the next one
    # starts there (a real consumer is not handed 3-4 again after 5).
    follower, seen = _follower(_Consumer(GAP_POLLS[:1]), {0: 3, 1: 0}, wait_s=0.0)
    follower._read()
    assert seen == ["s0-5"] and follower._positions == {0: 6, 1: 0}


def test_a_partition_read_from_its_beginning_counts_from_its_first_record() -> None:
    consumer = _Consumer([[_message(0, 7), _message(0, 8), _eof(0, 9)]])
    follower, seen = _follower(consumer, {0: -2}, wait_s=5.0)
    follower._read()
    assert consumer.seeks == [] and seen == ["s0-7", "s0-8"]


def test_each_pass_expects_the_positions_it_starts_from() -> None:
    # Positions moved between passes (settled past own results): the next pass checks there.
    consumer = _Consumer([[_message(0, 3), _eof(0, 4)]])
    follower, seen = _follower(consumer, {0: 3}, wait_s=5.0)
    follower._read()
    follower._positions = {0: 10}
    consumer.polls.extend([[_message(0, 12), _eof(0, 13)], [_message(0, 10), _eof(0, 11)]])
    follower._read()
    assert consumer.seeks == [(0, 10)]
    assert seen == ["s0-3", "s0-10"]


def test_a_key_registered_but_never_acknowledged_is_not_ours() -> None:
    # This worker registered s0-1 and s0-2; its batch was acknowledged with s0-1 only (s0-2
    # dead-lettered on a retry). Another worker's result for s0-2 must reach the index.
    own = OwnResults()
    own.add([b"s0-1", b"s0-2"])
    own.durable([b"s0-1"])
    consumer = _Consumer([[_message(0, 1), _message(0, 2), _eof(0, 3)]])
    follower, seen = _follower(consumer, {0: 1}, wait_s=0.0, own=own)
    follower._read()
    assert seen == ["s0-2"]  # s0-1 is ours: in the index already
    assert follower.stats.own_read == 1 and follower.stats.others_read == 1
