"""A null text model, for benchmarks only (``INFERSTREAM_MODEL_BACKEND=null``).

It stands in for the ONNX Runtime session of ``TextEmbedder`` so that ``inferstream bench
overhead`` can measure what the pipeline costs outside the model: tokenisation, bucketing and
padding still run (the embedder feeds it the same padded id matrices), and each row becomes a
deterministic unit vector derived from a hash of its token ids. Identical texts therefore get
identical vectors, so the bug_report dedup scorer still finds exact duplicates and does its
usual work; the vectors of different texts are unrelated (near-orthogonal in 384 dimensions).

The whole batch is hashed and expanded in a few numpy passes (no per-row Python), so the stand-in
itself costs microseconds per row and the benchmark's figures are the pipeline's, not its own.
Never serve real traffic with it: the results are stamped ``<version>+null`` so they can never be
mistaken for the real model's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from inferstream.models.minilm_onnx import ATTENTION_MASK, INPUT_IDS, OUTPUT

FloatArray = npt.NDArray[np.float32]
U64 = npt.NDArray[np.uint64]

NULL_PROVIDER = "NullExecutionProvider"
NULL_VERSION_SUFFIX = "+null"

# splitmix64 constants (Steele, Lea, Flood 2014): a cheap bijective mixer whose outputs pass
# BigCrush, so the expanded coordinates look independent.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_TOP53 = np.uint64(11)


def _splitmix(x: U64) -> U64:
    """splitmix64's finaliser, elementwise; uint64 arithmetic wraps modulo 2**64."""
    x = (x ^ (x >> _SHIFTS[0])) * _MIX1
    x = (x ^ (x >> _SHIFTS[1])) * _MIX2
    out: U64 = x ^ (x >> _SHIFTS[2])
    return out


def row_hashes(input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> U64:
    """One 64-bit hash per row of the real (unmasked) token ids, position by position. Padding
    contributes nothing, so a text hashes the same whatever it was padded to."""
    real = (attention_mask != 0).astype(np.uint64)
    positions = np.arange(1, input_ids.shape[1] + 1, dtype=np.uint64)
    weights = _splitmix(positions * _GOLDEN)  # a distinct pseudo-random weight per position
    # Mix each id before weighting (small ids would otherwise combine almost linearly); the
    # mask zeroes the padding's terms.
    mixed = _splitmix(input_ids.astype(np.uint64) + _GOLDEN) * real
    summed: U64 = (mixed * weights).sum(axis=1, dtype=np.uint64)
    lengths = attention_mask.sum(axis=1).astype(np.uint64)
    return _splitmix(summed ^ lengths)


def null_vectors(
    input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64], dim: int
) -> FloatArray:
    """float32 [rows, dim], each row a unit vector that depends only on the row's real ids."""
    if dim < 1:
        raise ValueError("dim must be >= 1")
    seeds = row_hashes(input_ids, attention_mask)
    steps = np.arange(1, dim + 1, dtype=np.uint64) * _GOLDEN
    bits = _splitmix(seeds[:, None] + steps[None, :])
    # Top 53 bits -> [0, 1) -> [-1, 1): symmetric coordinates, so random rows are near-orthogonal.
    unit = (bits >> _TOP53).astype(np.float64) * (2.0 / 2**53) - 1.0
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    vectors: FloatArray = (unit / np.maximum(norms, 1e-12)).astype(np.float32)
    return vectors


class NullSession:
    """Duck-types the part of ``onnxruntime.InferenceSession`` that ``TextEmbedder`` calls."""

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError("dim must be >= 1")
        self.dim = dim

    def get_providers(self) -> list[str]:
        return [NULL_PROVIDER]

    def run(self, outputs: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[FloatArray]:
        if list(outputs) != [OUTPUT]:
            raise ValueError(f"the null model has one output, {OUTPUT!r}; asked for {outputs}")
        vectors = null_vectors(
            np.asarray(feeds[INPUT_IDS], dtype=np.int64),
            np.asarray(feeds[ATTENTION_MASK], dtype=np.int64),
            self.dim,
        )
        return [vectors]
