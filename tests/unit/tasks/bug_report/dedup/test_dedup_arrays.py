"""The lexical index's flat-array helpers against the plain loops they replace, and the two
ways its candidate lookup sums postings (over every document, over the distinct ones)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import exhaustive
from inferstream.tasks.bug_report.dedup.arrays import Grown, name_keys, pairs
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex

BATCH = 5
others_lists = st.lists(
    st.lists(st.one_of(st.integers(0, BATCH - 1), st.sampled_from(["a", "b", "c", "d"]))),
    max_size=BATCH,
)


@given(others_lists)
def test_pairs_equal_the_plain_loop(others: list[list[int | str]]) -> None:
    entity_of: dict[str, int] = {}
    query: list[int] = []
    other: list[int] = []
    for q, named in enumerate(others):
        for o in named:
            query.append(q)
            other.append(
                entity_of.setdefault(o, BATCH + len(entity_of)) if isinstance(o, str) else o
            )
    named_ids, pair_query, pair_other = pairs(BATCH, others)
    assert named_ids == list(entity_of)
    assert pair_query.tolist() == query
    assert pair_other.tolist() == other


@pytest.mark.parametrize("bad", [BATCH, -1, 99])
def test_pairs_refuse_positions_outside_the_batch(bad: int) -> None:
    with pytest.raises(ValueError, match=f"position {bad} outside"):
        pairs(BATCH, [["a", 0], ["b", bad]])
    with pytest.raises(ValueError, match="lists of others"):
        pairs(1, [[0], [0]])


def test_grown_keeps_what_was_appended_across_growth() -> None:
    grown = Grown(np.int64, capacity=2)
    for chunk in ([1, 2, 3], np.array([4, 5]), [6]):
        grown.extend(chunk)
    assert grown.view().tolist() == [1, 2, 3, 4, 5, 6]


def test_grown_rows_keep_their_shape_and_an_earlier_snapshot_stays_valid() -> None:
    grown = Grown(np.float32, capacity=2, row_shape=(3,))
    grown.extend(np.ones((2, 3), dtype=np.float32))
    before = grown.data
    grown.extend(np.full((3, 3), 2.0, dtype=np.float32))  # past the capacity: a new array
    assert grown.data is not before and before.tolist() == [[1.0] * 3] * 2
    assert grown.view().tolist() == [[1.0] * 3] * 2 + [[2.0] * 3] * 3


docs = st.lists(
    st.dictionaries(st.sampled_from([f"t{n}" for n in range(12)]), st.integers(0, 3)),
    min_size=1,
    max_size=30,
)


@given(docs, docs)
def test_candidates_are_the_same_summed_densely_or_sparsely(
    indexed: list[dict[str, int]], queries: list[dict[str, int]]
) -> None:
    index = LexicalIndex(max_postings=10)
    index.add((f"r{n}", terms) for n, terms in enumerate(indexed))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exhaustive, "DENSE_FACTOR", 10**9)  # always a bincount over every doc
        dense = index.candidates_many(queries, 5)
        patch.setattr(exhaustive, "DENSE_FACTOR", 0)  # always over the distinct documents
        sparse = index.candidates_many(queries, 5)
    assert dense == sparse


@given(st.lists(st.text(max_size=20), min_size=2, max_size=20))
def test_name_keys_order_as_python_strs(ids: list[str]) -> None:
    """A key row below another means the id is below the other; an id below another never has
    a key row above it (equal rows decide nothing)."""
    rows = [tuple(row) for row in name_keys(ids).tolist()]
    for a, row_a in zip(ids, rows, strict=True):
        for b, row_b in zip(ids, rows, strict=True):
            if row_a < row_b:
                assert a < b
            if a < b:
                assert row_a <= row_b
    assert name_keys([]).shape == (0, 2)
