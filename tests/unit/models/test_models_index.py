"""SimilarityIndex: exact top-k, idempotent adds, HNSW switch keeps recall."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from inferstream.models import SimilarityIndex
from inferstream.models.index import BLAS_MIN_QUERIES


def _unit(rng: np.random.Generator, n: int, dim: int) -> npt.NDArray[np.float32]:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    unit: npt.NDArray[np.float32] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 150),
    n_queries=st.integers(1, 5),
    k=st.integers(1, 20),
    seed=st.integers(0, 2**16),
)
def test_flat_search_is_exact(n: int, n_queries: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dim = 16
    vectors, queries = _unit(rng, n, dim), _unit(rng, n_queries, dim)
    ids = [f"id-{i}" for i in range(n)]
    index = SimilarityIndex(dim=dim)
    index.add(ids, vectors)
    results = index.search(queries, k)

    scores = queries @ vectors.T
    for q, got in enumerate(results):
        expected = np.argsort(-scores[q], kind="stable")[: min(k, n)]
        assert len(got) == len(expected)
        np.testing.assert_allclose([s for _, s in got], scores[q, expected], atol=1e-5)
        for (got_id, got_score), want in zip(got, expected, strict=True):
            # Ids must agree except between near-tied scores, whose order is arbitrary.
            if got_id != ids[want]:
                assert abs(got_score - scores[q, want]) < 1e-5


def test_add_is_idempotent() -> None:
    rng = np.random.default_rng(0)
    index = SimilarityIndex(dim=8)
    vectors = _unit(rng, 3, 8)
    assert index.add(["a", "b", "c"], vectors) == 3
    assert index.add(["a", "b", "c"], _unit(rng, 3, 8)) == 0  # a replay changes nothing
    assert index.add(["d", "d", "a"], _unit(rng, 3, 8)) == 1  # duplicates within one call too
    assert len(index) == 4
    assert "a" in index and "d" in index and "z" not in index
    best = index.search(vectors[:1], 1)[0][0]
    assert best[0] == "a"  # the first vector for "a" was kept
    assert best[1] == pytest.approx(1.0, abs=1e-5)


def test_cosine_for_unnormalised_input_and_self_match() -> None:
    index = SimilarityIndex(dim=2)
    index.add(["x", "y"], np.array([[3.0, 0.0], [1.0, 1.0]]))
    (results,) = index.search(np.array([[5.0, 0.0]]), 5)
    assert [i for i, _ in results] == ["x", "y"]
    assert results[0][1] == pytest.approx(1.0)
    assert results[1][1] == pytest.approx(2**-0.5)


def test_empty_index_and_bad_shapes() -> None:
    index = SimilarityIndex(dim=4)
    assert index.search(np.ones((2, 4)), 3) == [[], []]
    with pytest.raises(ValueError, match="shape"):
        index.add(["a"], np.ones((1, 5)))
    with pytest.raises(ValueError, match="ids for"):
        index.add(["a", "b"], np.ones((1, 4)))


def test_switch_to_hnsw_keeps_recall() -> None:
    rng = np.random.default_rng(1)
    dim, n = 384, 2000
    vectors = _unit(rng, n, dim)
    ids = [f"v{i}" for i in range(n)]
    index = SimilarityIndex(dim=dim, hnsw_threshold=1000)
    for start in range(0, n, 400):
        index.add(ids[start : start + 400], vectors[start : start + 400])
        assert index.kind == ("hnsw" if start + 400 > 1000 else "flat")
    assert len(index) == n

    # Queries near stored vectors, like near-duplicate texts.
    queries = vectors[:200] + 0.5 * _unit(rng, 200, dim) / np.sqrt(2)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    results = index.search(queries, 5)
    hits = sum(
        len({ids[j] for j in truth[q]} & {i for i, _ in results[q]}) for q in range(len(queries))
    )
    assert hits / truth.size >= 0.95
    # Every stored vector still finds itself first after the rebuild.
    assert all(r[0][0] == ids[i] for i, r in enumerate(index.search(vectors[:300], 1)))


def test_concurrent_adds_and_searches() -> None:
    rng = np.random.default_rng(2)
    vectors = _unit(rng, 800, 32)
    index = SimilarityIndex(dim=32, hnsw_threshold=500)
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for start in range(part * 200, part * 200 + 200, 20):
                index.add([f"v{i}" for i in range(start, start + 20)], vectors[start : start + 20])
                index.search(vectors[start : start + 2], 3)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 800
    assert index.kind == "hnsw"


def _thread_counts() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_a_batched_search_is_exact_and_leaves_the_thread_pools_as_they_were() -> None:
    """A call with >= BLAS_MIN_QUERIES queries takes faiss' BLAS path, under a thread limit
    that applies to that call only."""
    rng = np.random.default_rng(3)
    data, queries = _unit(rng, 3000, 32), _unit(rng, 2 * BLAS_MIN_QUERIES, 32)
    before = _thread_counts()
    for threads in (1, 2):
        index = SimilarityIndex(dim=32, search_threads=threads)
        index.add([f"v{i}" for i in range(len(data))], data)
        found = index.search(queries, 7)
        exact = queries @ data.T
        for row, hits in zip(exact, found, strict=True):
            best = np.argsort(-row, kind="stable")[:7]
            assert [s for _, s in hits] == pytest.approx(row[best].tolist(), abs=1e-5)
            assert {i for i, _ in hits} == {f"v{j}" for j in best} or _tied(row, best)
    assert _thread_counts() == before
    with pytest.raises(ValueError, match="search_threads"):
        SimilarityIndex(dim=4, search_threads=0)


def _tied(row: npt.NDArray[np.float32], best: npt.NDArray[np.int64]) -> bool:
    """The k-th and (k+1)-th best scores are equal within float error: either may be returned."""
    ranked = np.sort(row)[::-1]
    return bool(abs(ranked[len(best) - 1] - ranked[len(best)]) < 1e-5)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 60), k=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_search_arrays_are_search_without_the_tuples(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = SimilarityIndex(dim=8)
    if n:
        index.add([f"r{i}" for i in range(n)], _unit(rng, n, 8))
    queries = _unit(rng, 3, 8)
    ids, labels, scores = index.search_arrays(queries, k)
    assert labels.shape == scores.shape == (3, min(k, n))
    assert labels.dtype == np.int64 and scores.dtype == np.float32
    expected = [
        [(ids[j], float(v)) for j, v in zip(row, vals, strict=True)]
        for row, vals in zip(labels, scores, strict=True)
    ]
    assert index.search(queries, k) == expected


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # 1e39's
def test_a_non_finite_vector_is_refused_naming_its_row(bad: float) -> None:
    """A NaN or an infinity (1e39: finite as a float64, infinite as the float32 stored) is
    refused, by ``add`` with nothing of its batch added and by ``search``: stored, it would
    meet every later search."""
    rng = np.random.default_rng(3)
    index = SimilarityIndex(dim=8)
    index.add(["a", "b"], _unit(rng, 2, 8))
    batch = _unit(rng, 4, 8).astype(np.float64)
    batch[2, 5] = bad
    with pytest.raises(ValueError, match="vector row 2 is not finite"):
        index.add(["c", "d", "e", "f"], batch)
    assert len(index) == 2 and "c" not in index
    batch[3, 0] = bad
    with pytest.raises(ValueError, match=r"vector row 2 is not finite .*, and 1 more row"):
        index.search(batch, 2)
    # The index is as it was: the batch's finite rows add, under the next labels.
    assert index.add(["c", "d"], batch[:2]) == 2
    ids, labels, scores = index.search_arrays(batch[:2], 4)
    assert np.isfinite(scores).all()
    assert [ids[label] for label in labels[:, 0]] == ["c", "d"]
