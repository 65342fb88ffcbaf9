"""Seq ranges of the partial HNSW indexes: names, the cover queries probe, size-tiered merges."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.storage.vector_ranges import (
    SeqRange,
    cover,
    index_name,
    open_from,
    parse_index_name,
    plan_merge,
    tier,
)

TABLE = "results_bug_report"


@st.composite
def tilings(draw: st.DrawFn) -> list[SeqRange]:
    """Adjacent ranges from 0, as closes produce them."""
    cuts = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=12, unique=True))
    bounds = [0, *sorted(cuts)]
    return [SeqRange(lo, hi) for lo, hi in itertools.pairwise(bounds)]


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_index_names_round_trip(lo: int, span: int) -> None:
    seq_range = SeqRange(lo, lo + span)
    assert parse_index_name(TABLE, index_name(TABLE, seq_range)) == seq_range


def test_foreign_and_degenerate_names_are_not_ranges() -> None:
    assert parse_index_name(TABLE, "results_bug_report_seq_idx") is None
    assert parse_index_name(TABLE, "results_bug_report_hnsw_5_5") is None
    assert parse_index_name(TABLE, "results_bug_report_embedding_hnsw") is None
    assert parse_index_name(TABLE, "other_hnsw_0_10") is None
    with pytest.raises(ValueError, match="not a seq range"):
        SeqRange(3, 3)


def test_where_inlines_the_bounds() -> None:
    assert SeqRange(10, 20).where("r") == "r.seq >= 10 AND r.seq < 20"


@given(tilings())
def test_cover_of_a_tiling_is_the_tiling(ranges: list[SeqRange]) -> None:
    assert cover(reversed(ranges)) == ranges
    assert open_from(cover(ranges)) == ranges[-1].hi


@given(tilings(), st.data())
def test_cover_prefers_a_merged_range_and_skips_past_gaps(
    ranges: list[SeqRange], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(ranges) - 1))
    j = data.draw(st.integers(i, len(ranges) - 1))
    merged = SeqRange(ranges[i].lo, ranges[j].hi)
    chosen = cover([*ranges, merged])
    assert open_from(chosen) == ranges[-1].hi
    assert len(chosen) == len(ranges) - (j - i)
    # Contiguous from 0, no overlaps: every row is probed exactly once.
    assert chosen[0].lo == 0
    assert all(a.hi == b.lo for a, b in itertools.pairwise(chosen))
    # A missing (failed) range ends the cover there: what follows is scanned as open.
    without = [r for r in ranges if r != ranges[i]]
    assert open_from(cover(without)) == ranges[i].lo


def test_cover_of_nothing_is_empty() -> None:
    assert cover([]) == [] and open_from([]) == 0
    assert cover([SeqRange(5, 9)]) == []  # does not start at 0


@given(st.integers(1, 10**9), st.integers(1, 1000), st.integers(2, 16))
def test_tier_grows_by_one_per_factor_of_fanout(span: int, close_rows: int, fanout: int) -> None:
    level = tier(span, close_rows, fanout)
    assert span < close_rows * fanout ** (level + 1)
    assert level == 0 or span >= close_rows * fanout**level


def test_merges_are_size_tiered() -> None:
    close, fanout = 100, 4
    ranges = [SeqRange(i * 100, (i + 1) * 100) for i in range(3)]
    assert plan_merge(ranges, close, fanout) is None
    ranges.append(SeqRange(300, 400))
    assert plan_merge(ranges, close, fanout) == SeqRange(0, 400)
    # A big range and three small ones: not one tier, nothing to merge.
    tiered = [SeqRange(0, 400), *(SeqRange(400 + i * 100, 500 + i * 100) for i in range(3))]
    assert plan_merge(tiered, close, fanout) is None


@given(st.integers(1, 300), st.integers(2, 6), st.integers(1, 5))
def test_repeated_closes_and_merges_keep_few_ranges(n: int, fanout: int, close: int) -> None:
    ranges: list[SeqRange] = []
    for i in range(n):
        ranges = [*ranges, SeqRange(i * close, (i + 1) * close)]
        while (merged := plan_merge(ranges, close, fanout)) is not None:
            ranges = cover([*ranges, merged])
        assert open_from(ranges) == (i + 1) * close
    # At most fanout - 1 ranges per tier, and log_fanout(n) + 1 tiers.
    tiers = {tier(r.span, close, fanout) for r in ranges}
    assert len(ranges) <= (fanout - 1) * len(tiers)
    assert fanout ** max(tiers) <= n
