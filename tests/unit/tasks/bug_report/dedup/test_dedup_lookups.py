"""The lexical index's shared look-ups: a batch's vocabulary ids kept between its calls, each
query's k-th best value, the query terms' columns of the TF-IDF table."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import tfidf
from inferstream.tasks.bug_report.dedup.arrays import kth_best
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex

words = st.sampled_from(["crash", "export", "png", "pdf", "layer", "sync", "login", "note", "é"])
term_maps = st.dictionaries(words, st.integers(1, 4), min_size=0, max_size=6)
# One step of a scorer: ask for a batch's candidates, its cosines, or add a batch (by index
# into a few batches, so that later steps meet the same maps again, before or after an add).
steps = st.lists(
    st.tuples(st.sampled_from(["candidates", "cosines", "add"]), st.integers(0, 2)),
    min_size=1,
    max_size=12,
)


def _run(
    index: LexicalIndex,
    batches: list[list[dict[str, int]]],
    plan: list[tuple[str, int]],
    fresh: bool,
) -> list[object]:
    """The results of each step; ``fresh``: forget the last batch's look-ups before each."""
    out: list[object] = []
    added = 0
    for kind, which in plan:
        batch = batches[which]
        if fresh:
            index._last = None
        if kind == "candidates":
            query, key = index.candidate_keys(batch, 2)
            out.append(sorted(zip(query.tolist(), key.tolist(), strict=True)))
        elif kind == "cosines":
            size = len(batch)
            query = np.repeat(np.arange(size, dtype=np.int64), 3)
            position = np.tile(np.array([-1, -1, 0], dtype=np.int64), size)
            key = np.tile(np.array([0, 1, -1], dtype=np.int64), size)
            out.append(index.similarities_by_key(batch, query, position, key).tolist())
        else:
            ids = [f"{which}-{n}" for n in range(len(batch))]
            out.append(index.add(zip(ids, batch, strict=True), range(added, added + len(batch))))
            added += len(batch)
    out.append(dict(index._vocab))
    out.append(index._df.view().tolist())
    return out


@given(st.lists(st.lists(term_maps, min_size=1, max_size=5), min_size=3, max_size=3), steps)
def test_a_batchs_kept_look_ups_give_what_fresh_look_ups_give(
    batches: list[list[dict[str, int]]], plan: list[tuple[str, int]]
) -> None:
    """Candidates, cosines, term ids and document frequencies are the same whether a call
    reuses the look-ups of the batch asked for just before (the same maps, with terms added to
    the vocabulary in between) or looks every term up again."""
    assert _run(LexicalIndex(), batches, plan, fresh=False) == _run(
        LexicalIndex(), batches, plan, fresh=True
    )


def test_new_terms_are_numbered_in_the_order_they_come() -> None:
    """Term ids follow the first appearance of each term, map after map, as a loop of
    ``setdefault`` numbers them; a batch looked up before its add gets them too."""
    index = LexicalIndex()
    first = [{"a": 1, "b": 2}, {"c": 1}]
    index.add([("x", first[0]), ("y", first[1])])
    second = [{"d": 1, "a": 3}, {"b": 1, "e": 2, "d": 2}]
    index.candidate_keys(second, 1)
    index.add([("z", second[0]), ("w", second[1])])
    assert index._vocab == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert index._df.view().tolist() == [2, 2, 1, 2, 1]


values_by_query = st.lists(
    st.lists(st.sampled_from([1.0, 1.5, 2.0, 2.5, 7.25, math.inf]), max_size=12),
    min_size=1,
    max_size=8,
)


@given(values_by_query, st.integers(1, 6))
def test_kth_best_is_the_kth_of_each_querys_values_sorted(
    groups: list[list[float]], k: int
) -> None:
    """Each query's k-th largest value (-inf with fewer than k), whether it has exactly k
    values (their least) or more (a partition)."""
    query = np.repeat(np.arange(len(groups), dtype=np.int64), [len(g) for g in groups])
    values = np.array([v for g in groups for v in g], dtype=np.float64)
    kept = values.copy()
    got = kth_best(query, values, k, len(groups) + 1).tolist()
    expected = [sorted(g, reverse=True)[k - 1] if len(g) >= k else -math.inf for g in groups]
    assert got == [*expected, -math.inf]
    assert np.array_equal(values, kept)  # the caller's values are left as they were


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=30),
    st.lists(st.integers(0, 40), min_size=0, max_size=30),
    st.sampled_from([1, 10**6]),
)
def test_query_terms_by_table_and_by_sort_are_the_same(
    query_terms: list[int], others: list[int], scale: int
) -> None:
    """The distinct query terms, each query term's index among them and each entry's column
    (the distinct count where no query holds its term): the same by the table over every term
    id (small ids) and by the sort (ids spread far apart)."""
    mine = np.array(query_terms, dtype=np.int64) * scale
    every = np.concatenate([mine, np.array(others, dtype=np.int64) * scale])
    terms, local, column = tfidf._query_terms(mine, every)
    distinct = sorted(set(mine.tolist()))
    assert terms.tolist() == distinct
    assert local.tolist() == [distinct.index(t) for t in mine.tolist()]
    place = {t: n for n, t in enumerate(distinct)}
    assert column.tolist() == [place.get(t, len(distinct)) for t in every.tolist()]
