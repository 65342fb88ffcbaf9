"""Exact top-k inner product with most of the work in int8: the flat index's CPU search.

faiss's exact flat search is one FP32 matrix product per batch, at the core's FP32 peak. Here
the product runs on int8 copies of the vectors (onnxruntime's ``MatMulIntegerToFloat``, MLAS:
~4x the FP32 rate where the CPU has VNNI), and that approximation only picks which pairs get an
FP32 cosine; the answer is then exactly the FP32 top-k of those cosines, best first, ties by
label (lowest first), as a brute force over every stored vector with ``pair_cosines`` gives.

Quantisation: a vector v becomes codes c = rint(v / s), s = max|v_i| / 127 (per vector,
symmetric), so v = s c + r with r its residual, and ||r||, ||s c|| and ||v|| are kept per
stored vector (float64, rounded up). For a query q and a stored x, with q = q^ + r_q and
x = x^ + r_x:

    q . x - q^ . x^  =  q . r_x + r_q . x^,  so  |q . x - q^ . x^| <= ||q|| ||r_x|| + ||r_q|| ||x^||

(Cauchy-Schwarz). q^ . x^ = s_q s_x I with I the integer product, which the op returns as
g = fl(I s_x) (I < 2^24 is exact in float32; one rounding, relative 2^-24). The cosine a caller
gets is ``pair_cosines``'s FP32 dot product, within gamma ||q|| ||x|| of q . x (gamma = d u /
(1 - d u), u = 2^-24, for any summation order). So every pair's computed cosine is at most

    upper = s_q g + |s_q g| 2^-22 + ||q|| ||r_x|| + ||r_q|| ||x^|| + gamma ||q|| ||x|| + 1e-9

(the 2^-22 and 1e-9 cover the roundings of the bound's own float64 arithmetic). A query's k-th
best cosine is at least the smallest of any k distinct stored vectors' computed cosines: those of
the best vector in each of the k groups of stored vectors with the largest approximations. Every
vector whose upper bound reaches that floor gets its cosine computed; the others are strictly
below the k-th best, so they cannot enter the top-k, ties included.

Groups: stored vector j is in group j mod groups (a [queries, members, groups] view of the
approximations), so a group's best is one reduction over a middle axis, and a group whose best
upper bound misses the floor is skipped whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information
from onnx import TensorProto, helper

FloatArray = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Members per group (the approximations are reduced in groups of this many stored vectors).
GROUP = 32
# Absolute slack for the float64 arithmetic of the bounds (they are ~1e-2; errors ~1e-16).
_SLACK = 1e-9
# Relative rounding of fl(I s_x) (2^-24) and of the bound's products, taken twice over.
_RELATIVE = 2.0**-22
# Computed norms (float64, 384 terms) are within ~1e-13 relative; rounded up by far more.
_NORM_UP = 1.0 + 1e-9
_FLOAT_U = 2.0**-24
# Pairs per chunk of pair_cosines (2 x 256 gathered rows of 384 floats: 768 KiB, L2-sized).
_CHUNK = 256


def pair_cosines(queries: FloatArray, vectors: FloatArray, owner: Ints, rows: Ints) -> FloatArray:
    """Each pair's FP32 dot product: one gather of each side and one row-wise product (a
    pair's value depends on its two rows only, not on the batch it is computed in). In chunks
    of ``_CHUNK`` pairs, so that the gathered rows stay in cache and no call maps megabytes of
    fresh pages."""
    out = np.empty(len(owner), dtype=np.float32)
    for at in range(0, len(owner), _CHUNK):
        part = slice(at, at + _CHUNK)
        out[part] = np.einsum("ij,ij->i", queries[owner[part]], vectors[rows[part]])
    return out


def fp32_dot_error(dim: int) -> float:
    """gamma_dim: |fl(q . x) - q . x| <= gamma ||q|| ||x|| for any summation order, FMA or not."""
    return dim * _FLOAT_U / (1.0 - dim * _FLOAT_U)


@dataclass(frozen=True)
class Quantised:
    """Per-vector symmetric int8 codes and what the bound needs of each vector."""

    codes: npt.NDArray[np.int8]  # [n, dim]
    scale: FloatArray  # [n]; vector ~= scale * codes
    residual: Floats  # [n] ||v - scale * codes||, rounded up
    coded: Floats  # [n] ||scale * codes||, rounded up
    norm: Floats  # [n] ||v||, rounded up


def quantise(vectors: FloatArray) -> Quantised:
    """int8 codes of float32 rows (scale max|v_i| / 127; a zero row gets scale 0, codes 0)."""
    peak = np.abs(vectors).max(axis=1) if vectors.shape[1] else np.zeros(len(vectors))
    scale = (peak / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1))
    codes = np.clip(np.rint(vectors / safe[:, None]), -127, 127).astype(np.int8)
    # In float64 s * c is exact (24 + 7 bits) and so is v - s c (both near v): only the norms
    # round, and they are rounded up.
    coded = scale.astype(np.float64)[:, None] * codes
    residual = vectors.astype(np.float64) - coded
    return Quantised(
        codes=codes,
        scale=scale,
        residual=np.linalg.norm(residual, axis=1) * _NORM_UP,
        coded=np.linalg.norm(coded, axis=1) * _NORM_UP,
        norm=np.linalg.norm(vectors.astype(np.float64), axis=1) * _NORM_UP,
    )


def _session(dim: int, threads: int) -> ort.InferenceSession:
    """queries' codes + 128 as uint8 [m, dim] (zero point 128), stored codes int8 [dim, n],
    stored scales [n] -> float32 [m, n] = (codes_q . codes_x) * scale_x."""
    queries = helper.make_tensor_value_info("q", TensorProto.UINT8, ["m", dim])
    stored = helper.make_tensor_value_info("x", TensorProto.INT8, [dim, "n"])
    scales = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["n"])
    out = helper.make_tensor_value_info("g", TensorProto.FLOAT, ["m", "n"])
    constants = [
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor("zero_point", TensorProto.UINT8, [], [128]),
    ]
    node = helper.make_node(
        "MatMulIntegerToFloat", ["q", "x", "one", "s", "zero_point"], ["g"], domain="com.microsoft"
    )
    graph = helper.make_graph([node], "int8_flat", [queries, stored, scales], [out], constants)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _exact_on_extremes(session: ort.InferenceSession, dim: int) -> bool:
    """Whether the op's integer product is exact at the codes' extremes. Without VNNI, MLAS's
    uint8 x int8 kernel may sum pairs in saturating int16 (255 x 127 x 2 > 32767): the bound
    assumes the exact integer product, so such a CPU keeps faiss."""
    rng = np.random.default_rng(0)
    codes = np.concatenate(
        [np.full((3, dim), 127), np.full((3, dim), -127), rng.integers(-127, 128, (26, dim))]
    ).astype(np.int8)
    queries = codes[[0, 3, 6, 7]]
    product = queries.astype(np.int64) @ codes.T.astype(np.int64)
    got = session.run(
        None,
        {
            "q": (queries.astype(np.int16) + 128).astype(np.uint8),
            "x": np.ascontiguousarray(codes.T),
            "s": np.ones(len(codes), dtype=np.float32),
        },
    )[0]
    return bool(np.array_equal(got, product.astype(np.float32)))


class Int8Flat:
    """Appendable int8 copy of a flat index's (unit) vectors and its exact top-k search. Not
    thread-safe: the owner (``SimilarityIndex``) serialises adds and searches. Labels are
    positions in add order, as faiss's."""

    def __init__(self, dim: int, threads: int = 1) -> None:
        self.dim = dim
        self._session = _session(dim, threads)
        self.exact = _exact_on_extremes(self._session, dim)
        self._n = 0
        self._codes = np.zeros((dim, 0), dtype=np.int8)  # stored codes by column
        self._scale = np.zeros(0, dtype=np.float32)
        # Per stored vector (float32 rounded up: still bounds): ||r_x||, ||x^||, ||x||.
        self._residual = np.zeros(0, dtype=np.float32)
        self._coded = np.zeros(0, dtype=np.float32)
        self._norm = np.zeros(0, dtype=np.float32)
        self._gamma = fp32_dot_error(dim)
        # The largest stored residual, coded norm and norm (the bound's uniform terms).
        self._peaks = np.zeros(3)

    def __len__(self) -> int:
        return self._n

    def add(self, vectors: FloatArray) -> None:
        """Append vectors (normalised float32 [n, dim], as the flat index stores them)."""
        if not len(vectors):
            return
        new = quantise(vectors)
        at, end = self._n, self._n + len(vectors)
        if end + GROUP > self._codes.shape[1]:
            self._grow(max(2 * self._codes.shape[1], end + GROUP, 1024))
        self._codes[:, at:end] = new.codes.T
        self._scale[at:end] = new.scale
        terms = (self._residual, self._coded, self._norm)
        for kept, value in zip(terms, (new.residual, new.coded, new.norm), strict=True):
            kept[at:end] = _up32(value)
        self._peaks = np.maximum(self._peaks, [float(kept[at:end].max()) for kept in terms])
        self._n = end

    def _grow(self, capacity: int) -> None:
        # Unused columns stay zero codes with scale 0 (the padding of the last group).
        codes = np.zeros((self.dim, capacity), dtype=np.int8)
        codes[:, : self._n] = self._codes[:, : self._n]
        self._codes = codes
        for name in ("_scale", "_residual", "_coded", "_norm"):
            old = getattr(self, name)
            grown = np.zeros(capacity, dtype=old.dtype)
            grown[: self._n] = old[: self._n]
            setattr(self, name, grown)

    def search(self, queries: FloatArray, stored: FloatArray, k: int) -> tuple[Ints, FloatArray]:
        """Top-``k`` labels and ``pair_cosines`` of each query (normalised float32 [m, dim])
        against ``stored`` (the FP32 vectors by label, those this copy was built from), best
        first, ties by label; k <= len(self)."""
        n, m = self._n, len(queries)
        groups = -(-n // GROUP)
        width = groups * GROUP
        q = quantise(queries)
        g = self._session.run(
            None,
            {
                "q": (q.codes.astype(np.int16) + 128).astype(np.uint8),
                "x": self._codes[:, :width],
                "s": self._scale[:width],
            },
        )[0]
        g[:, n:] = -np.inf  # the padding columns of the last group
        if k >= groups:  # a handful of vectors: every pair's cosine
            owner = np.repeat(np.arange(m, dtype=np.int64), n)
            rows = np.tile(np.arange(n, dtype=np.int64), m)
            return _top_k(owner, rows, pair_cosines(queries, stored, owner, rows), m, k)
        by_group = g.reshape(m, GROUP, groups)
        best = by_group.max(axis=1)  # [m, groups]
        # k distinct vectors per query: the best member of each of its k best groups. The
        # smallest of their cosines is a floor of the query's k-th best.
        top = np.argpartition(best, groups - k, axis=1)[:, groups - k :].reshape(-1)
        owner = np.repeat(np.arange(m, dtype=np.int64), k)
        member = by_group[owner, :, top].argmax(axis=1)
        first_rows = member * groups + top
        first = pair_cosines(queries, stored, owner, first_rows)
        floor = first.reshape(m, k).min(axis=1).astype(np.float64)
        chosen = np.full((m, groups), -1, dtype=np.int64)  # the member taken per top group
        chosen[owner, top] = member
        more_owner, more_rows = self._reaching(q, g, floor, chosen)
        more = pair_cosines(queries, stored, more_owner, more_rows)
        return _top_k(
            np.concatenate([owner, more_owner]),
            np.concatenate([first_rows, more_rows]),
            np.concatenate([first, more]),
            m,
            k,
        )

    def _reaching(
        self, q: Quantised, g: FloatArray, floor: Floats, chosen: Ints
    ) -> tuple[Ints, Ints]:
        """The (query, label) pairs whose upper bound reaches the query's floor, less those
        whose cosine the floor took (``chosen``: per query and group, that member or -1)."""
        n, groups = self._n, chosen.shape[1]
        scale = q.scale.astype(np.float64)
        # Uniform per query (the largest stored terms): one comparison per pair.
        worst = (
            q.norm * self._peaks[0]
            + q.residual * self._peaks[1]
            + self._gamma * q.norm * self._peaks[2]
        )
        peak = q.coded * self._peaks[1]  # >= |s_q g| for any stored vector
        margin = worst + peak * _RELATIVE + _SLACK
        # g >= (floor - margin) / s_q, rounded down to float32; a zero query (s_q = 0) has
        # every approximation 0, so every vector is within its margin: keep all.
        with np.errstate(divide="ignore", invalid="ignore"):
            bar = np.where(scale > 0, (floor - margin) / scale, -np.inf)
        bar32 = bar.astype(np.float32)
        bar32 = np.where(bar32.astype(np.float64) > bar, np.nextafter(bar32, -np.inf), bar32)
        flat = np.flatnonzero(g >= bar32[:, None])
        owner, rows = np.divmod(flat, g.shape[1])
        fresh = (rows < n) & (chosen[owner, rows % groups] != rows // groups)
        flat, owner, rows = flat[fresh], owner[fresh], rows[fresh]
        # Each pair's own bound (its stored vector's terms), tighter than the uniform one.
        approx = scale[owner] * g.reshape(-1)[flat]
        upper = (
            approx
            + np.abs(approx) * _RELATIVE
            + q.norm[owner] * self._residual[rows]
            + q.residual[owner] * self._coded[rows]
            + self._gamma * q.norm[owner] * self._norm[rows]
            + _SLACK
        )
        keep = upper >= floor[owner]
        return owner[keep].astype(np.int64), rows[keep].astype(np.int64)


def _up32(values: Floats) -> FloatArray:
    """float64 -> float32 rounded up (an upper bound stays one)."""
    out = values.astype(np.float32)
    out = np.where(out.astype(np.float64) < values, np.nextafter(out, np.float32(np.inf)), out)
    return out.astype(np.float32, copy=False)


def _top_k(owner: Ints, rows: Ints, cosine: FloatArray, m: int, k: int) -> tuple[Ints, FloatArray]:
    """Each query's k best pairs by cosine, ties by label, best first (k per query at least).
    Two stable sorts (by label, then by query and descending cosine as one integer key), 5x
    cheaper than a three-key lexsort."""
    bits = (cosine + np.float32(0)).view(np.int32).astype(np.int64)  # + 0: -0.0 ties +0.0
    ordered = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)  # float order as integer order
    by_label = np.argsort(rows, kind="stable")
    key = (owner << 33) - ordered
    order = by_label[np.argsort(key[by_label], kind="stable")]
    start = np.searchsorted(owner[order], np.arange(m))
    take = order[(start[:, None] + np.arange(k)).reshape(-1)]
    return rows[take].reshape(m, k), cosine[take].reshape(m, k)
