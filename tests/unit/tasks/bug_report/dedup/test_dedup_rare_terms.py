"""arrays.rare_terms: each query's rarest usable terms, ties by term, the same whether its
terms come in term order (a stable sort by query and document frequency) or not (a lexsort
with the terms as strings)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.arrays import _in_term_order, rare_terms


def _reference(
    queries: Sequence[Mapping[str, int]],
    vocab: Mapping[str, int],
    df: npt.NDArray[np.int64],
    limit: int,
    most: int,
) -> tuple[list[int], list[int], list[int]]:
    """A Python loop: each query's terms with 1 <= df <= limit, sorted by (df, term), cut."""
    ids: list[int] = []
    dfs: list[int] = []
    bounds = [0]
    for query in queries:
        found = [(int(df[vocab[t]]), t) for t in query if t in vocab]
        usable = sorted((d, t) for d, t in found if 0 < d <= limit)[:most]
        ids += [vocab[t] for _, t in usable]
        dfs += [d for d, _ in usable]
        bounds.append(len(ids))
    return ids, dfs, bounds


words = st.sampled_from(["a", "b", "ab", "ba", "crash", "crash_", "z9", "é", "\u00e9x", "png"])
query = st.lists(st.tuples(words, st.integers(1, 3)), max_size=8).map(dict)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(query, max_size=8),
    st.booleans(),
    st.lists(st.integers(0, 4), min_size=10, max_size=10),
    st.integers(1, 4),
    st.integers(1, 5),
)
def test_rarest_terms_ties_by_term_sorted_or_not(
    queries: list[dict[str, int]], in_order: bool, frequencies: list[int], limit: int, most: int
) -> None:
    if in_order:
        queries = [dict(sorted(q.items())) for q in queries]
    vocab = {w: n for n, w in enumerate(["a", "b", "ab", "ba", "crash", "crash_", "z9", "é"])}
    df = np.array(frequencies[: len(vocab)], dtype=np.int64)
    ids, dfs, bounds = rare_terms(queries, vocab, df, limit, most)
    assert (ids.tolist(), dfs.tolist(), bounds) == _reference(queries, vocab, df, limit, most)


def test_term_order_is_checked_within_each_query_only() -> None:
    assert _in_term_order([], []) and _in_term_order(["b"], [0, 1, 0])
    assert _in_term_order(["a", "c", "b", "d"], [2, 2])  # c > b across the queries
    assert not _in_term_order(["a", "c", "b", "d"], [3, 1])
    assert _in_term_order(["b", "a"], [1, 0, 1])  # an empty query between
    assert not _in_term_order(["a", "a"], [2])  # not strictly rising
    flat = list(chain.from_iterable([["x", "y"], ["a"]]))
    assert _in_term_order(flat, [2, 1]) and not _in_term_order(flat, [3])
