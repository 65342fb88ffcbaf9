"""Contiguous commit watermarks: never past a record still in flight, never backwards."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.watermark import OffsetTracker, Position

P0: Position = ("submissions", 0)
P1: Position = ("submissions", 1)
P2: Position = ("enriched", 0)


@st.composite
def offset_runs(draw: st.DrawFn) -> list[int]:
    """Ascending offsets with occasional gaps (compaction, transaction markers)."""
    start = draw(st.integers(0, 1000))
    gaps = draw(st.lists(st.integers(1, 3), max_size=25))
    offsets = [start]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    return offsets


@given(st.data())
def test_committable_is_the_contiguous_done_prefix_plus_one(data: st.DataObject) -> None:
    partitions = [P0, P1, P2]
    to_poll = {pos: data.draw(offset_runs(), label=f"offsets {pos}") for pos in partitions}
    polled: dict[Position, list[int]] = {pos: [] for pos in partitions}
    done: dict[Position, set[int]] = {pos: set() for pos in partitions}
    tracker = OffsetTracker()
    last_seen: dict[Position, int] = {}

    while True:
        choices: list[tuple[str, Position, int]] = []
        for pos in partitions:
            if len(polled[pos]) < len(to_poll[pos]):
                choices.append(("poll", pos, to_poll[pos][len(polled[pos])]))
            choices.extend(("done", pos, off) for off in polled[pos] if off not in done[pos])
        if not choices:
            break
        action, pos, offset = data.draw(st.sampled_from(choices))
        if action == "poll":
            tracker.polled(pos, offset)
            polled[pos].append(offset)
        else:
            tracker.done(pos, offset)
            done[pos].add(offset)

        committable = tracker.committable()
        for p in partitions:
            prefix = 0
            while prefix < len(polled[p]) and polled[p][prefix] in done[p]:
                prefix += 1
            if prefix == 0:
                assert p not in committable
                assert p not in last_seen
            else:
                assert committable[p] == polled[p][prefix - 1] + 1
                not_done = [o for o in polled[p] if o not in done[p]]
                if not_done:
                    assert committable[p] <= min(not_done)
                assert committable[p] >= last_seen.get(p, committable[p]), "moved backwards"
                last_seen[p] = committable[p]
            assert tracker.in_flight(p) == len(polled[p]) - prefix

    for pos in partitions:
        assert tracker.committable()[pos] == to_poll[pos][-1] + 1
        assert tracker.in_flight(pos) == 0


@given(offset_runs(), st.randoms(use_true_random=False))
def test_done_in_any_order_ends_past_the_last_offset(
    offsets: list[int], rnd: random.Random
) -> None:
    tracker = OffsetTracker()
    for off in offsets:
        tracker.polled(P0, off)
    order = list(offsets)
    rnd.shuffle(order)
    for off in order:
        tracker.done(P0, off)
    assert tracker.committable() == {P0: offsets[-1] + 1}
    assert tracker.in_flight(P0) == 0


def test_out_of_order_completion_waits_for_the_lowest() -> None:
    tracker = OffsetTracker()
    for off in (10, 11, 12, 13):
        tracker.polled(P0, off)
    tracker.done(P0, 12)
    tracker.done(P0, 13)
    assert tracker.committable() == {}
    assert tracker.in_flight(P0) == 4
    tracker.done(P0, 10)
    assert tracker.committable() == {P0: 11}
    assert tracker.in_flight(P0) == 3
    tracker.done(P0, 11)
    assert tracker.committable() == {P0: 14}
    assert tracker.in_flight(P0) == 0


def test_gaps_between_offsets_commit_just_past_the_last_done() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 5)
    tracker.polled(P0, 9)
    tracker.done(P0, 5)
    assert tracker.committable() == {P0: 6}  # 6..8 never existed; 9 still in flight
    tracker.done(P0, 9)
    assert tracker.committable() == {P0: 10}


def test_partitions_are_independent() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 0)
    tracker.polled(P1, 100)
    tracker.polled(P1, 101)
    tracker.done(P1, 101)
    tracker.done(P0, 0)
    assert tracker.committable() == {P0: 1}
    assert tracker.in_flight(P1) == 2


def test_assign_registers_without_a_committable_position() -> None:
    tracker = OffsetTracker()
    tracker.assign([P0, P1])
    tracker.assign([P0])  # idempotent
    assert sorted(tracker.positions()) == sorted([P0, P1])
    assert tracker.committable() == {}
    assert tracker.in_flight(P0) == 0


def test_assign_keeps_existing_progress() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 3)
    tracker.done(P0, 3)
    tracker.assign([P0])
    assert tracker.committable() == {P0: 4}


def test_revoke_forgets_the_partition_and_later_done_is_ignored() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 1)
    tracker.polled(P0, 2)
    tracker.polled(P1, 7)
    tracker.done(P0, 1)
    tracker.revoke([P0])
    assert P0 not in tracker.positions()
    assert tracker.committable() == {}
    assert tracker.in_flight(P0) == 0
    tracker.done(P0, 2)  # finished after the revoke: ignored, does not resurrect it
    assert P0 not in tracker.positions()
    assert tracker.committable() == {}
    assert tracker.in_flight(P1) == 1


def test_revoke_of_unknown_partition_is_harmless() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 0)
    tracker.revoke([P1, P2])
    assert tracker.positions() == [P0]


def test_done_for_unknown_partition_is_ignored() -> None:
    tracker = OffsetTracker()
    tracker.done(P2, 42)
    assert tracker.positions() == []
    assert tracker.committable() == {}
    assert tracker.in_flight(P2) == 0


def test_reassigned_partition_starts_fresh() -> None:
    tracker = OffsetTracker()
    tracker.polled(P0, 50)
    tracker.done(P0, 50)
    tracker.revoke([P0])
    tracker.assign([P0])
    assert tracker.committable() == {}
    tracker.polled(P0, 51)
    assert tracker.in_flight(P0) == 1
    tracker.done(P0, 51)
    assert tracker.committable() == {P0: 52}
