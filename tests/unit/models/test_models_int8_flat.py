"""The int8 flat search: exactly the FP32 brute force's top-k (labels and cosines, ties by
label), for random and adversarial vectors; and its error bound is attained (10 % less fails)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from int8_reference import brute_force

from inferstream.models import index as index_module
from inferstream.models import int8_flat
from inferstream.models.index import SimilarityIndex
from inferstream.models.int8_flat import Int8Flat

FloatArray = npt.NDArray[np.float32]


def _vectors(rng: np.random.Generator, n: int, dim: int, kind: str) -> FloatArray:
    if kind == "gaussian":
        x = rng.standard_normal((n, dim))
    elif kind == "uniform":
        x = rng.uniform(-1, 1, (n, dim))
    elif kind == "duplicates":  # a few distinct vectors, each many times
        x = rng.standard_normal((max(1, n // 7), dim))[rng.integers(0, max(1, n // 7), n)]
    elif kind == "near":  # near-duplicates: one vector plus noise at the float32 rounding
        x = rng.standard_normal(dim) + 1e-7 * rng.standard_normal((n, dim))
    elif kind == "equal":
        x = np.tile(rng.standard_normal(dim), (n, 1))
    else:  # "sparse": few nonzero coordinates, many exact ties
        x = rng.integers(-2, 3, (n, dim)) * (rng.random((n, dim)) < 0.1)
    return np.asarray(x, dtype=np.float32)


KINDS = ["gaussian", "uniform", "duplicates", "near", "equal", "sparse"]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400),
    m=st.integers(1, 40),
    k=st.integers(1, 30),
    dim=st.sampled_from([8, 24, 64]),
    kind=st.sampled_from(KINDS),
    query_kind=st.sampled_from([*KINDS, "stored"]),
    seed=st.integers(0, 2**16),
)
def test_int8_search_is_the_brute_force(
    n: int,
    m: int,
    k: int,
    dim: int,
    kind: str,
    query_kind: str,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    vectors = _vectors(rng, n, dim, kind)
    if query_kind == "stored" and n:  # queries that are stored vectors (a replay finds itself)
        queries = vectors[rng.integers(0, n, m)]
    else:
        queries = _vectors(rng, m, dim, "gaussian" if query_kind == "stored" else query_kind)
    index = SimilarityIndex(dim=dim, use_gpu=False)
    assert index._int8 is not None  # this CPU's int8 product is exact (else faiss would run)
    index.add([f"id-{i}" for i in range(n)], vectors)
    with pytest.MonkeyPatch.context() as patch:  # the int8 path at every size
        patch.setattr(index_module, "INT8_MIN_STORED", 0)
        ids, labels, scores = index.search_arrays(queries, k)
    want_labels, want_scores = brute_force(index._prepare(queries), index._stored(), k)
    assert labels.shape == (m, min(k, n))
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(scores, want_scores)  # bit for bit
    assert len(ids) == n


def test_faiss_runs_below_the_thresholds() -> None:
    rng = np.random.default_rng(3)
    index = SimilarityIndex(dim=16, use_gpu=False)
    index.add([str(i) for i in range(50)], _vectors(rng, 50, 16, "gaussian"))
    assert not index._uses_int8()  # 50 stored vectors: faiss
    assert index._int8 is not None and len(index._int8) == 50


def test_a_cpu_whose_int8_product_is_not_exact_keeps_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fall-back of a CPU without VNNI (MLAS's saturating kernel), simulated: no int8 copy,
    and searches at every size are faiss's, the same labels as a brute force."""
    monkeypatch.setattr(int8_flat, "_exact_on_extremes", lambda session, dim: False)
    monkeypatch.setattr(index_module, "INT8_MIN_STORED", 0)
    rng = np.random.default_rng(6)
    index = SimilarityIndex(dim=16, use_gpu=False)
    vectors = _vectors(rng, 200, 16, "gaussian")
    index.add([str(i) for i in range(200)], vectors)
    assert index._int8 is None and not index._uses_int8()
    queries = _vectors(rng, 25, 16, "gaussian")
    _, labels, _ = index.search_arrays(queries, 5)
    want, _ = brute_force(index._prepare(queries), index._stored(), 5)
    np.testing.assert_array_equal(labels, want)


def test_hnsw_switch_drops_the_int8_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "INT8_MIN_STORED", 0)
    rng = np.random.default_rng(4)
    index = SimilarityIndex(dim=16, hnsw_threshold=40, use_gpu=False)
    index.add([str(i) for i in range(30)], _vectors(rng, 30, 16, "gaussian"))
    assert index._int8 is not None and len(index._int8) == 30
    index.add([str(i) for i in range(20, 60)], _vectors(rng, 40, 16, "gaussian"))
    assert index.kind == "hnsw" and index._int8 is None and len(index) == 60
    assert len(index.search(_vectors(rng, 10, 16, "gaussian"), 5)[0]) == 5


def test_replays_do_not_grow_the_int8_copy() -> None:
    rng = np.random.default_rng(5)
    index = SimilarityIndex(dim=8, use_gpu=False)
    vectors = _vectors(rng, 5, 8, "gaussian")
    assert index.add(list("abcde"), vectors) == 5
    assert index.add(list("abcxe"), vectors) == 1
    assert index._int8 is not None and len(index._int8) == len(index) == 6
    assert "x" in index and "y" not in index


def _attaining(dim: int, rng: np.random.Generator) -> tuple[FloatArray, FloatArray, float]:
    """A stored vector x whose error attains ~99 % of the bound for the query q = sign(r_x):
    codes c with |c_i| < 127 and x_i = s (c_i + 0.49 sigma_i) (one coordinate 127: the
    scale), so every residual is 0.49 s sigma_i and q . r_x ~ ||q|| ||r_x||; q's own codes are
    exact (all +-127). Returns x, q (both unit) and x's cosine."""
    sigma = rng.choice([-1.0, 1.0], dim)
    codes = rng.integers(60, 127, dim).astype(np.float64)
    x = sigma * (codes + 0.49)
    x[0] = 127 * sigma[0]
    x /= np.linalg.norm(x)
    q = sigma / np.sqrt(dim)
    return x.astype(np.float32), q.astype(np.float32), float(x @ q)


def _exact_between(
    sigma: npt.NDArray[np.float64], low: float, high: float, rng: np.random.Generator
) -> FloatArray:
    """A unit vector whose int8 codes are exact (integers, one of them 127) with a cosine
    to sigma / sqrt(dim) strictly between low and high."""
    dim = len(sigma)
    for _ in range(200):
        codes = rng.integers(60, 127, (4096, dim)).astype(np.float64)
        codes[:, 0] = 127
        w = sigma * codes
        cosine = (w @ sigma) / (np.sqrt(dim) * np.linalg.norm(w, axis=1))
        inside = np.flatnonzero((cosine > low) & (cosine < high))
        if len(inside):
            y = w[inside[0]] / np.linalg.norm(w[inside[0]])
            return y.astype(np.float32)
    raise AssertionError("no exact vector in the window")


@pytest.mark.parametrize("tighter", [False, True])
def test_the_bound_is_attained(monkeypatch: pytest.MonkeyPatch, tighter: bool) -> None:
    """x is the true nearest; y, exactly quantised, has a larger approximation than x and a
    cosine between 90 % and 100 % of the way from x's approximation to x's cosine. The search
    must return x; with the residuals' norms (the bound) 10 % smaller it returns y."""
    dim, rng = 64, np.random.default_rng(11)
    x, q, x_cosine = _attaining(dim, rng)
    quantised = int8_flat.quantise(x[None, :])
    approx = float(
        np.float64(quantised.scale[0])
        * int8_flat.quantise(q[None, :]).scale[0]
        * (quantised.codes[0].astype(np.int64) @ int8_flat.quantise(q[None, :]).codes[0])
    )
    gap = x_cosine - approx
    assert gap > 0.95 * quantised.residual[0]  # the error attains the bound's main term
    sigma = np.sign(q).astype(np.float64)
    y = _exact_between(sigma, approx + 0.93 * gap, x_cosine - 0.03 * gap, rng)
    # Far vectors fill the groups (more groups than k), none near q.
    filler = -np.abs(_vectors(rng, 100, dim, "gaussian")) * sigma.astype(np.float32)
    stored = np.concatenate([filler[:50], x[None, :], filler[50:], y[None, :]])
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    if tighter:
        real = int8_flat.quantise

        def shrunk(vectors: FloatArray) -> int8_flat.Quantised:
            out = real(vectors)
            return replace(out, residual=out.residual * 0.9)

        monkeypatch.setattr(int8_flat, "quantise", shrunk)
    flat = Int8Flat(dim)
    flat.add(stored)
    labels, _ = flat.search(q[None, :], stored, 1)
    want, _ = brute_force(q[None, :], stored, 1)
    assert want[0, 0] == 50  # x
    assert labels[0, 0] == (101 if tighter else 50)
