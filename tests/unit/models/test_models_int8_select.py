"""The int8 search's selections against their plain definitions: each query's k best pairs
(descending cosine, ties by label, -0.0 equal to +0.0) against a lexsort, the floor's k groups
per query (each at or above the query's k-th best group, ties included), and an add of the
vectors a search has just quantised (the search's codes reused only for equal values)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st
from int8_reference import brute_force

from inferstream.models import int8_flat
from inferstream.models.int8_flat import Int8Flat

FloatArray = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def _lexsort_top_k(owner: Ints, rows: Ints, cosine: FloatArray, m: int, k: int) -> Ints:
    order = np.lexsort((rows, -cosine.astype(np.float64), owner))
    start = np.searchsorted(owner[order], np.arange(m))
    return order[(start[:, None] + np.arange(k)).reshape(-1)]


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 20),
    k=st.integers(1, 8),
    extra=st.integers(0, 12),
    n=st.integers(20, 3000),
    values=st.sampled_from(["few", "signed zeros", "spread"]),
    seed=st.integers(0, 2**16),
)
def test_top_k_is_the_lexsort(m: int, k: int, extra: int, n: int, values: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = k + rng.integers(0, extra + 1, m)
    owner = np.repeat(np.arange(m, dtype=np.int64), counts)
    rows = np.concatenate([rng.choice(max(n, c), c, replace=False) for c in counts])
    rows = rows.astype(np.int64)
    if values == "few":  # many exact ties: the label decides
        cosine = rng.choice(np.array([-0.5, 0.25, 0.5, 1.0], dtype=np.float32), len(owner))
    elif values == "signed zeros":
        cosine = rng.choice(np.array([-0.0, 0.0, 1e-30, -1e-30], dtype=np.float32), len(owner))
    else:
        cosine = rng.uniform(-1.1, 1.1, len(owner)).astype(np.float32)
    shuffle = rng.permutation(len(owner))  # pairs in any order
    owner, rows, cosine = owner[shuffle], rows[shuffle], cosine[shuffle]
    labels, scores = int8_flat._top_k(owner, rows, cosine, m, k)
    take = _lexsort_top_k(owner, rows, cosine, m, k)
    np.testing.assert_array_equal(labels, rows[take].reshape(m, k))
    np.testing.assert_array_equal(scores.view(np.int32), cosine[take].reshape(m, k).view(np.int32))


def test_top_k_past_16_bit_queries() -> None:
    """More queries than a 16-bit radix key holds: the queries' sort is a wider one."""
    rng = np.random.default_rng(3)
    m, k = (1 << 16) + 5, 1
    owner = np.repeat(np.arange(m, dtype=np.int64), 2)
    rows = np.tile(np.array([7, 3], dtype=np.int64), m)
    cosine = rng.choice(np.array([0.0, 0.5], dtype=np.float32), 2 * m)
    shuffle = rng.permutation(2 * m)
    owner, rows, cosine = owner[shuffle], rows[shuffle], cosine[shuffle]
    labels, _ = int8_flat._top_k(owner, rows, cosine, m, k)
    take = _lexsort_top_k(owner, rows, cosine, m, k)
    np.testing.assert_array_equal(labels, rows[take].reshape(m, k))


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 12),
    groups=st.integers(2, 40),
    k=st.integers(1, 39),
    levels=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_top_groups_are_k_at_or_above_the_kth(
    m: int, groups: int, k: int, levels: int, seed: int
) -> None:
    k = min(k, groups - 1)
    rng = np.random.default_rng(seed)
    best = rng.integers(0, levels, (m, groups)).astype(np.float32)  # few levels: ties
    best[rng.random((m, groups)) < 0.1] = -np.inf  # padding groups
    top = int8_flat._top_groups(best, k).reshape(m, k)
    kth = -np.sort(-best, axis=1)[:, k - 1]
    for query in range(m):
        assert len(set(top[query].tolist())) == k
        assert (best[query, top[query]] >= kth[query]).all()


def test_top_groups_with_nan_groups() -> None:
    """A NaN group (a non-finite stored vector's) counts as the largest, as in a partition:
    still k distinct groups per query."""
    best = np.array([[1.0, np.nan, 3.0, 2.0, np.nan], [np.nan] * 5], dtype=np.float32)
    top = int8_flat._top_groups(best, 3).reshape(2, 3)
    assert sorted(top[0].tolist()) == [1, 2, 4]
    assert len(set(top[1].tolist())) == 3


def _unit(rng: np.random.Generator, n: int, dim: int) -> FloatArray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    out: FloatArray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def _state(flat: Int8Flat) -> list[npt.NDArray[np.generic]]:
    return [flat._scale, flat._residual, flat._coded, flat._norm, flat._tail_codes]


def test_adding_the_searched_vectors() -> None:
    """The infer stage adds the vectors it has just searched for: the search's codes serve the
    add, which leaves the state of a plain add. An array changed after the search (the
    caller's), or other vectors, are quantised afresh."""
    dim, k = 24, 3
    rng = np.random.default_rng(5)
    stored = _unit(rng, 150, dim)
    for change in (False, True):
        flat, plain = Int8Flat(dim, block=64), Int8Flat(dim, block=64)
        flat.add(stored)
        plain.add(stored)
        queries = _unit(rng, 9, dim)
        flat.search(queries, stored, k)
        if change:
            queries[0] = -queries[0]
        flat.add(queries)
        plain.add(queries)
        for got, want in zip(_state(flat), _state(plain), strict=True):
            np.testing.assert_array_equal(got, want)
        everything = np.concatenate([stored, queries])
        more = _unit(rng, 5, dim)
        labels, scores = flat.search(more, everything, k)
        want_labels, want_scores = brute_force(more, everything, k)
        np.testing.assert_array_equal(labels, want_labels)
        np.testing.assert_array_equal(scores, want_scores)
