"""The offset-gap guard: a consumer is not moved past a batch the broker numbered but has not
stored yet, and steps over a hole that stays open longer than its wait."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.gaps import Admitted, Gap, GapGuard, Position

P0: Position = ("submissions.bug_report", 0)
P1: Position = ("submissions.bug_report", 1)


def test_contiguous_offsets_pass_untouched() -> None:
    guard = GapGuard(wait_s=5.0)
    out = guard.admit([(P0, 7), (P0, 8), (P1, 0), (P0, 9), (P1, 1)], now=0.0)
    assert out.keep == [True] * 5
    assert out.seeks == {} and out.opened == [] and out.stepped_over == []
    assert not guard.waiting()


def test_a_gap_sends_its_partition_back_and_keeps_the_others() -> None:
    guard = GapGuard(wait_s=5.0)
    guard.admit([(P0, 92), (P1, 40)], now=0.0)
    out = guard.admit([(P0, 94), (P1, 41), (P0, 95), (P1, 42)], now=1.0)
    assert out.keep == [False, True, False, True]
    assert out.seeks == {P0: 93}
    assert out.opened == [Gap(P0, 93, 94)]
    assert guard.waiting()
    # The late batch is stored: the re-read starts at 93, and the gap is closed.
    out = guard.admit([(P0, 93), (P0, 94), (P0, 95)], now=1.2)
    assert out.keep == [True, True, True] and out.seeks == {}
    assert not guard.waiting()


def test_the_same_gap_is_reported_once_and_stepped_over_after_the_wait() -> None:
    guard = GapGuard(wait_s=5.0)
    guard.admit([(P0, 10)], now=0.0)
    first = guard.admit([(P0, 12)], now=1.0)
    again = guard.admit([(P0, 12)], now=5.9)
    assert first.opened == [Gap(P0, 11, 12)] and again.opened == []
    assert again.seeks == {P0: 11}
    late = guard.admit([(P0, 12), (P0, 13)], now=6.0)
    assert late.keep == [True, True] and late.seeks == {}
    assert late.stepped_over == [Gap(P0, 11, 12)]
    assert not guard.waiting()
    # A later gap waits its own full time.
    assert guard.admit([(P0, 20)], now=6.1).seeks == {P0: 14}


def test_a_forgotten_partition_starts_anywhere() -> None:
    guard = GapGuard(wait_s=5.0)
    guard.admit([(P0, 10)], now=0.0)
    guard.forget([P0])
    out = guard.admit([(P0, 500)], now=0.1)
    assert out.keep == [True] and out.seeks == {}
    assert guard.admit([(P0, 502)], now=0.2).seeks == {P0: 501}


def test_a_known_start_is_checked_too() -> None:
    guard = GapGuard(wait_s=5.0)
    guard.expect(P0, 40)
    assert guard.admit([(P0, 42)], now=0.0).seeks == {P0: 40}
    assert guard.admit([(P0, 40), (P0, 41)], now=0.1).keep == [True, True]


def test_a_redelivery_below_the_expected_offset_is_no_gap() -> None:
    guard = GapGuard(wait_s=5.0)
    guard.admit([(P0, 10), (P0, 11)], now=0.0)
    out = guard.admit([(P0, 5), (P0, 6)], now=0.1)
    assert out.keep == [True, True] and out.seeks == {}


@st.composite
def racing_log(draw: st.DrawFn) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Batches (base offset, records) of one partition in offset order, and for some of them
    the fetch after which they are stored (the rest are stored from the start)."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=12))
    batches, base = [], 0
    for size in sizes:
        batches.append((base, size))
        base += size
    late = draw(st.dictionaries(st.integers(0, len(batches) - 1), st.integers(1, 6), max_size=3))
    return batches, late


def _fetch(
    batches: list[tuple[int, int]], stored: set[int], position: int
) -> list[tuple[Position, int]]:
    """The embedded broker's fetch (dynostore): every stored batch at or after the position,
    so a batch numbered but not stored yet is stepped over."""
    return [
        (P0, base + i)
        for index, (base, size) in enumerate(batches)
        if index in stored and base + size > position
        for i in range(size)
        if base + i >= position
    ]


@given(racing_log())
def test_a_consumer_behind_the_guard_reads_every_offset_once_in_order(
    log: tuple[list[tuple[int, int]], dict[int, int]],
) -> None:
    batches, late = log
    end = batches[-1][0] + batches[-1][1]
    stored = {i for i in range(len(batches)) if i not in late}
    guard = GapGuard(wait_s=1000.0)  # every late batch arrives well within the wait
    guard.expect(P0, 0)  # the start is known (as the sink's stored offsets)
    seen: list[int] = []
    position, fetches = 0, 0
    while position < end:
        assert fetches < 100, (seen, position)
        fetches += 1
        stored |= {i for i, after in late.items() if fetches > after}
        records = _fetch(batches, stored, position)
        out = guard.admit(records, now=float(fetches))
        kept = [offset for (_, offset), keep in zip(records, out.keep, strict=True) if keep]
        seen += kept
        position = out.seeks.get(P0, kept[-1] + 1 if kept else position)
    assert seen == list(range(end))


def test_without_the_guard_the_same_broker_skips_a_late_batch() -> None:
    """The model of the broker above does lose records without the guard: batch 1 (offsets
    2-3) is stored after batch 2, and a plain consumer moves past it."""
    batches = [(0, 2), (2, 2), (4, 2)]
    position, seen = 0, []
    for stored in ({0}, {0, 2}, {0, 1, 2}):
        records = _fetch(batches, stored, position)
        seen += [offset for _, offset in records]
        position = seen[-1] + 1
    assert seen == [0, 1, 4, 5]


def _reference_admit(guard: GapGuard, records: list[tuple[Position, int]], now: float) -> Admitted:
    """GapGuard.admit as first written, one record at a time with no fast path."""
    out = Admitted()
    sent_back: set[Position] = set()
    for pos, offset in records:
        if pos in sent_back:
            out.keep.append(False)
            continue
        expected = guard._next.get(pos)
        gap = Gap(pos, expected, offset) if expected is not None and offset > expected else None
        if gap is not None and guard._waits(gap, now, out):
            out.keep.append(False)
            out.seeks[pos] = gap.expected
            sent_back.add(pos)
            continue
        if gap is not None:
            out.stepped_over.append(gap)
        guard._open.pop(pos, None)
        guard._next[pos] = offset + 1
        out.keep.append(True)
    return out


_poll = st.lists(st.tuples(st.sampled_from([P0, P1]), st.integers(0, 12)), max_size=10)


@given(st.lists(st.tuples(_poll, st.floats(0, 3)), max_size=8), st.booleans())
def test_admit_decides_as_the_record_by_record_loop(
    polls: list[tuple[list[tuple[Position, int]], float]], expect_first: bool
) -> None:
    """The fast path for records at their expected offset changes no decision, log or state:
    random polls (runs, rewinds, gaps opened, closed and stepped over) through both."""
    fast, slow = GapGuard(wait_s=2.0), GapGuard(wait_s=2.0)
    if expect_first:
        fast.expect(P0, 3)
        slow.expect(P0, 3)
    now = 0.0
    for records, step in polls:
        now += step
        assert fast.admit(records, now) == _reference_admit(slow, records, now)
        assert (fast._next, fast._open) == (slow._next, slow._open)
