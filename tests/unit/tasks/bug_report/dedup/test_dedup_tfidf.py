"""The flat-array helpers under the batched TF-IDF cosines (the cosines themselves are checked
against the plain loop in test_dedup_lexical.py)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import tfidf


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=20))
def test_ranges_concatenates_each_run(runs: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in runs], dtype=np.int64)
    lengths = np.array([n for _, n in runs], dtype=np.int64)
    expected = [i for s, n in runs for i in range(s, s + n)]
    assert tfidf.ranges(starts, lengths).tolist() == expected


@given(st.integers(0, 10_000), st.lists(st.integers(0, 10_000), max_size=30))
def test_idf_takes_math_log_of_each_ratio(n: int, dfs: list[int]) -> None:
    got = tfidf.idf(n, np.array(dfs, dtype=np.int64)).tolist()
    assert got == [math.log((n + 1) / (df + 1)) + 1.0 for df in dfs]


def test_a_report_with_no_weight_scores_zero_against_anything() -> None:
    entities = tfidf.Entities(
        start=np.array([0, 2], dtype=np.int64),
        length=np.array([2, 0], dtype=np.int64),
        term=np.array([3, 7], dtype=np.int64),
        weight=np.array([1.5, 2.0]),
    )
    pairs = np.array([0, 0, 1], dtype=np.int64), np.array([0, 1, 0], dtype=np.int64)
    assert tfidf.cosines(entities, *pairs).tolist() == [1.0, 0.0, 0.0]
