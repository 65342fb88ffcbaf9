"""The flat-array helpers under the batched TF-IDF cosines (the cosines themselves are checked
against the plain loop in test_dedup_lexical.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import tfidf


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=20))
def test_ranges_concatenates_each_run(runs: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in runs], dtype=np.int64)
    lengths = np.array([n for _, n in runs], dtype=np.int64)
    expected = [i for s, n in runs for i in range(s, s + n)]
    assert tfidf.ranges(starts, lengths).tolist() == expected


@given(
    st.one_of(st.integers(0, 10_000), st.integers(0, 2**53 - 2)),
    st.lists(st.integers(0, 10_000), max_size=30),
)
def test_idf_takes_math_log_of_each_ratio(n: int, dfs: list[int]) -> None:
    """Python's int division and math.log (idf_of), to the last bit, up to the counts where
    a float holds them exactly."""
    got = tfidf.idf(n, np.array(dfs, dtype=np.int64)).tolist()
    assert got == [tfidf.idf_of(n, df) for df in dfs]
    assert got == [math.log((n + 1) / (df + 1)) + 1.0 for df in dfs]


def test_idf_refuses_counts_a_float_would_round() -> None:
    with pytest.raises(ValueError, match="not be exact"):
        tfidf.idf(2**53 - 1, np.array([1], dtype=np.int64))


def test_a_report_with_no_weight_scores_zero_against_anything() -> None:
    entities = tfidf.Entities(
        start=np.array([0, 2], dtype=np.int64),
        length=np.array([2, 0], dtype=np.int64),
        term=np.array([3, 7], dtype=np.int64),
        weight=np.array([1.5, 2.0]),
    )
    pairs = np.array([0, 0, 1], dtype=np.int64), np.array([0, 1, 0], dtype=np.int64)
    assert tfidf.cosines(entities, *pairs).tolist() == [1.0, 0.0, 0.0]


@st.composite
def _entities_and_pairs(draw: st.DrawFn) -> tuple[tfidf.Entities, np.ndarray, np.ndarray]:
    # Runs in any order, or each sorted by term (as the index's term maps are: the shared
    # terms of a pair then come in the query's order without a sort).
    in_order = draw(st.booleans())
    terms = st.lists(st.integers(0, 12), max_size=8, unique=True)
    runs = draw(
        st.lists(
            terms.map(lambda run: sorted(run) if in_order else run).map(draw_weights),
            min_size=1,
            max_size=8,
        )
    )
    lengths = np.array([len(run) for run in runs], dtype=np.int64)
    pairs = draw(st.lists(st.tuples(st.integers(0, len(runs) - 1), st.integers(0, len(runs) - 1))))
    entities = tfidf.Entities(
        start=np.cumsum(lengths) - lengths,
        length=lengths,
        term=np.array([t for run in runs for t, _ in run], dtype=np.int64),
        weight=np.array([w for run in runs for _, w in run], dtype=np.float64),
    )
    query = np.array([q for q, _ in pairs], dtype=np.int64)
    other = np.array([o for _, o in pairs], dtype=np.int64)
    return entities, query, other


def draw_weights(terms: list[int]) -> list[tuple[int, float]]:
    return [(t, 1.0 + t / 7.0) for t in terms]


def _loop_cosine(entities: tfidf.Entities, q: int, o: int) -> float:
    """The plain loop: the query's entries in run order, the other's weight of each term."""

    def run(e: int) -> list[tuple[int, float]]:
        at = int(entities.start[e])
        cut = slice(at, at + int(entities.length[e]))
        return list(zip(entities.term[cut].tolist(), entities.weight[cut].tolist(), strict=True))

    mine, theirs = run(q), dict(run(o))
    dot = 0.0
    for term, weight in mine:
        dot += weight * theirs.get(term, 0.0)
    norm_q = math.sqrt(sum(w * w for _, w in mine))
    norm_o = math.sqrt(sum(w * w for w in theirs.values()))
    return min(1.0, dot / (norm_q * norm_o)) if norm_q > 0 and norm_o > 0 else 0.0


@given(_entities_and_pairs(), st.booleans())
def test_cosines_equal_the_loop_by_table_and_by_search(
    case: tuple[tfidf.Entities, np.ndarray, np.ndarray], small_table: bool
) -> None:
    """Both ways of finding the other's weights (the table, and the sorted search taken when
    the table would be too large) give the loop's floats exactly."""
    entities, query, other = case
    limit = tfidf.MAX_TABLE
    try:
        tfidf.MAX_TABLE = 0 if small_table else limit
        got = tfidf.cosines(entities, query, other).tolist()
    finally:
        tfidf.MAX_TABLE = limit
    expected = [
        _loop_cosine(entities, q, o) for q, o in zip(query.tolist(), other.tolist(), strict=True)
    ]
    assert got == expected
