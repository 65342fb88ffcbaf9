"""The int8 search's blocks: a closed block's prepacked session gives the same approximations
as the open block's input, and searches across block boundaries, with blocks closing between
and within adds and replayed ids, are exactly the FP32 brute force (labels and cosines)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from int8_reference import brute_force

from inferstream.models import index as index_module
from inferstream.models import int8_flat
from inferstream.models.index import SimilarityIndex
from inferstream.models.int8_flat import GROUP, Int8Flat

FloatArray = npt.NDArray[np.float32]


def _unit(rng: np.random.Generator, n: int, dim: int, kind: str = "gaussian") -> FloatArray:
    if kind == "duplicates":  # a few distinct vectors, each many times (ties across blocks)
        x = rng.standard_normal((max(1, n // 5), dim))[rng.integers(0, max(1, n // 5), n)]
    elif kind == "sparse":  # few nonzero coordinates: many exact ties, some zero vectors
        x = rng.integers(-2, 3, (n, dim)) * (rng.random((n, dim)) < 0.1)
    else:
        x = rng.standard_normal((n, dim))
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: FloatArray = np.where(norms > 0, x / np.where(norms > 0, norms, 1), 0).astype(np.float32)
    return out


@settings(max_examples=40, deadline=None)
@given(
    block=st.sampled_from([GROUP, 2 * GROUP, 3 * GROUP]),
    adds=st.lists(st.integers(0, 90), min_size=1, max_size=6),
    m=st.integers(1, 12),
    k=st.integers(1, 12),
    kind=st.sampled_from(["gaussian", "duplicates", "sparse"]),
    seed=st.integers(0, 2**16),
)
def test_searches_across_blocks_are_the_brute_force(
    block: int, adds: list[int], m: int, k: int, kind: str, seed: int
) -> None:
    """After every add (some close a block, some close several, some stop exactly at a
    boundary), a search is the brute force over everything stored so far."""
    rng = np.random.default_rng(seed)
    dim = 16
    flat = Int8Flat(dim, block=block)
    assert flat.exact
    stored = np.zeros((0, dim), dtype=np.float32)
    for size in adds:
        new = _unit(rng, size, dim, kind)
        flat.add(new)
        stored = np.concatenate([stored, new])
        assert len(flat) == len(stored) and len(flat._closed) == len(stored) // block
        if not len(stored):
            continue
        queries = np.concatenate(
            [_unit(rng, m, dim, kind), stored[rng.integers(0, len(stored), 2)]]
        )
        kk = min(k, len(stored))
        labels, scores = flat.search(queries, stored, kk)
        want_labels, want_scores = brute_force(queries, stored, kk)
        np.testing.assert_array_equal(labels, want_labels)
        np.testing.assert_array_equal(scores.view(np.int32), want_scores.view(np.int32))


def test_a_closed_block_gives_the_open_blocks_numbers() -> None:
    """The same vectors in closed blocks (prepacked constants) and in one open block (the
    codes as an input): every approximation and every group's best bit for bit."""
    rng = np.random.default_rng(8)
    dim, n = 24, 7 * GROUP + 5
    vectors = _unit(rng, n, dim)
    blocked, open_ = Int8Flat(dim, block=2 * GROUP), Int8Flat(dim, block=64 * GROUP)
    for flat in (blocked, open_):
        flat.add(vectors[:100])
        flat.add(vectors[100:])
    assert len(blocked._closed) == 3 and not open_._closed
    queries = int8_flat.quantise(_unit(rng, 9, dim))
    codes = (queries.codes.astype(np.int16) + 128).astype(np.uint8)
    a, b = blocked._approximations(codes), open_._approximations(codes)
    got = np.concatenate(a.blocks, axis=1)
    assert got.shape == b.blocks[0].shape == (9, 8 * GROUP)
    np.testing.assert_array_equal(got.view(np.int32), b.blocks[0].view(np.int32))
    np.testing.assert_array_equal(a.best, b.best)
    assert np.all(got[:, n:] == -np.inf) and np.all(np.isfinite(got[:, :n]))
    want = queries.codes.astype(np.int64) @ _codes(vectors).T
    np.testing.assert_array_equal(
        got[:, :n], (want * int8_flat.quantise(vectors).scale).astype(np.float32)
    )


def _codes(vectors: FloatArray) -> npt.NDArray[np.int64]:
    return int8_flat.quantise(vectors).codes.astype(np.int64)


def test_replays_across_a_block_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the index with a block of one group: replayed ids add nothing (no block closes
    for them), a batch that is half replays closes a block with its new half only."""
    monkeypatch.setattr(int8_flat, "BLOCK", GROUP)
    monkeypatch.setattr(index_module, "INT8_MIN_STORED", 0)
    rng = np.random.default_rng(9)
    dim = 16
    index = SimilarityIndex(dim=dim, use_gpu=False)
    first = _unit(rng, GROUP - 3, dim)
    assert index.add([f"a{i}" for i in range(len(first))], first) == GROUP - 3
    assert index._int8 is not None and not index._int8._closed
    assert index.add([f"a{i}" for i in range(len(first))], first) == 0  # a replay
    assert not index._int8._closed
    ids = [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)]
    assert index.add(ids, _unit(rng, 20, dim)) == 10  # closes the first block
    assert len(index._int8._closed) == 1 and len(index._int8) == len(index) == GROUP + 7
    queries = np.concatenate([_unit(rng, 5, dim), index._stored()[[0, GROUP - 1, GROUP + 6]]])
    _, labels, scores = index.search_arrays(queries, 6)
    want_labels, want_scores = brute_force(index._prepare(queries), index._stored(), 6)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(scores, want_scores)
    assert list(labels[5:, 0]) == [0, GROUP - 1, GROUP + 6]  # each stored query finds itself


@pytest.mark.parametrize("block", [0, GROUP + 1, -GROUP])
def test_a_block_is_whole_groups(block: int) -> None:
    with pytest.raises(ValueError, match="multiple"):
        Int8Flat(8, block=block)


def test_a_closed_blocks_kernel_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up check runs the packed-constant path as well: a closed block whose product
    is off (simulated: one code changed when its session is made) keeps faiss."""
    real = int8_flat._session

    def off(
        dim: int, threads: int, closed: tuple[npt.NDArray[np.int8], FloatArray] | None = None
    ) -> object:
        if closed is not None:
            codes = closed[0].copy()
            codes[0, 0] = 0 if codes[0, 0] else 1
            closed = (codes, closed[1])
        return real(dim, threads, closed)

    assert Int8Flat(16).exact
    monkeypatch.setattr(int8_flat, "_session", off)
    assert not Int8Flat(16).exact
    assert SimilarityIndex(dim=16, use_gpu=False)._int8 is None
