"""The stage runner's input queue (inqueue.py): a batch takes the records of its first record's
partition while that partition has any queued, then the others', oldest first; per partition
the offsets leave in order, every record exactly once."""

from __future__ import annotations

from collections.abc import Sequence

from _stage_runner import idle_runner
from hypothesis import given
from hypothesis import strategies as st

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.batching import Batcher
from inferstream.workers.runtime.inqueue import InputQueue
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "enriched.bug_report"
LONG_WAIT_MS = 60_000


def _arrivals(partitions: Sequence[int]) -> list[InRecord]:
    """One record per entry, on that partition, offsets counting up per partition."""
    next_offset: dict[int, int] = {}
    records = []
    for p in partitions:
        offset = next_offset.get(p, 0)
        next_offset[p] = offset + 1
        records.append(InRecord(TOPIC, p, offset, b"k", b"v"))
    return records


@given(st.lists(st.integers(0, 3), max_size=60))
def test_without_a_preference_records_leave_in_arrival_order(partitions: list[int]) -> None:
    records = _arrivals(partitions)
    queue = InputQueue()
    half = len(records) // 2
    queue.extend(records[:half])
    queue.extend(records[half:])
    assert len(queue) == len(records)
    assert [queue.take() for _ in records] == records
    assert not queue


@given(
    st.lists(st.integers(0, 3), max_size=60),
    st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=60, max_size=60),
)
def test_any_preferences_keep_each_partitions_order_and_every_record_once(
    partitions: list[int], preferences: list[int | None]
) -> None:
    records = _arrivals(partitions)
    queue = InputQueue()
    queue.extend(records)
    taken = []
    for prefer in preferences[: len(records)]:
        remaining_of = {r.partition for r in records if r not in taken}
        record = queue.take(None if prefer is None else (TOPIC, prefer))
        if prefer in remaining_of:
            assert record.partition == prefer  # the preferred partition while it has records
        else:  # else the oldest queued record
            assert record == next(r for r in records if r not in taken)
        taken.append(record)
    for p in set(partitions):
        offsets = [r.offset for r in taken if r.partition == p]
        assert offsets == sorted(offsets)
        assert offsets == list(range(len(offsets)))
    assert len(queue) == len(records) - len(taken)


def test_drop_and_clear_forget_partitions() -> None:
    queue = InputQueue()
    queue.extend(_arrivals([0, 1, 2, 1, 0]))
    queue.drop([(TOPIC, 1), (TOPIC, 7)])
    assert len(queue) == 3
    assert [(r.partition, r.offset) for r in (queue.take(), queue.take(), queue.take())] == [
        (0, 0),
        (2, 0),
        (0, 1),
    ]
    queue.extend(_arrivals([3]))
    queue.clear()
    assert len(queue) == 0 and not queue


def _runner(max_items: int) -> StageRunner:
    return idle_runner(
        WorkerSettings(batch_max_items=max_items, batch_max_wait_ms=LONG_WAIT_MS), topic=TOPIC
    )


def test_under_backlog_each_batch_holds_one_partition() -> None:
    runner = _runner(max_items=4)
    # Two partitions interleaved as a poll hands them over, 8 records each.
    runner._queue.extend(_arrivals([0, 1] * 8))
    batcher: Batcher[InRecord] = Batcher(runner.policy)
    batches = [runner._next_batch(batcher) for _ in range(4)]
    parts = [[(r.partition, r.offset) for r in b.items] for b in batches if b is not None]
    # Each batch starts with the partition whose next record arrived first.
    assert parts == [
        [(0, 0), (0, 1), (0, 2), (0, 3)],
        [(1, 0), (1, 1), (1, 2), (1, 3)],
        [(0, 4), (0, 5), (0, 6), (0, 7)],
        [(1, 4), (1, 5), (1, 6), (1, 7)],
    ]


def test_at_low_load_a_batch_takes_every_queued_record() -> None:
    runner = _runner(max_items=64)
    runner._queue.extend(_arrivals([1, 0, 1, 0, 2]))
    batch = runner._next_batch(Batcher(runner.policy))
    assert batch is not None and batch.reason == "idle"
    # Its first record's partition first, then the rest oldest first.
    assert [(r.partition, r.offset) for r in batch.items] == [
        (1, 0),
        (1, 1),
        (0, 0),
        (0, 1),
        (2, 0),
    ]
