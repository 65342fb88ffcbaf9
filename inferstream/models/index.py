"""In-memory cosine kNN over embeddings with faiss, for the infer worker's hot duplicate lookup.

Vectors are L2-normalised, so inner product equals cosine. Small indexes use exact brute force
(IndexFlatIP); past ``hnsw_threshold`` vectors on a CPU the index is rebuilt once as HNSW, whose
search cost grows ~log(n) instead of n. On a GPU the exact flat index stays: faiss has no GPU
HNSW, and GPU brute force over millions of 384-d vectors is already fast. The CPU flat search
runs in int8 where that is faster (models/int8_flat.py: the same exact top-k, its cosines
computed by ``int8_flat.pair_cosines``); the int8 copy costs ~1 kB per vector (a closed
block's codes packed by onnxruntime and its own copy: 3-5 MiB per 4,096 vectors at dim 384) and
is dropped with the switch to HNSW.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import faiss
import numpy as np
import numpy.typing as npt

from inferstream.models.int8_flat import Int8Flat
from inferstream.models.threads import limited_for

DEFAULT_HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_SEARCH = 128
# Higher than faiss' default 40: a one-off build cost for better recall on near-duplicates.
HNSW_EF_CONSTRUCTION = 80
# faiss computes a flat search's scores with one BLAS matrix product once a call has at least
# this many queries, else with a SIMD loop per query. faiss 1.15 ships 128,000 (so never, for
# the infer stage's batches); faiss' long-time default of 20 is 5x faster for a batch of 64
# against 11k vectors and 8x against 50k (measured: docs/benchmarks.md). Process-wide setting.
BLAS_MIN_QUERIES = 20
faiss.cvar.distance_compute_blas_threshold = BLAS_MIN_QUERIES
# Threads of one search (BLAS and OpenMP, models/threads.py). One by default: the infer stage
# searches between model calls that already keep the cores busy, and idle OpenBLAS threads
# spin for a while after each call. Measured on 2 cores: a batch search took 8 ms of wall but
# 25 ms of CPU with 2 threads, 13 and 13 with 1; on a 16-core GPU machine four infer processes
# with 16 spinning threads each starved the rest of the pipeline (docs/benchmarks.md, GPU).
DEFAULT_SEARCH_THREADS = 1
# The int8 search from this many stored vectors on. CPU per search call against faiss's, one
# thread, 1-256 queries: 0.60-0.95x at 5,000 stored, 0.37-0.73x at 10,000, 0.17-0.62x at
# 20,000, but 0.98-1.47x at 2,000 and 1.75-2.9x at 1,000 (its fixed costs: quantising, the
# k exact cosines per query, the pairs' sort).
INT8_MIN_STORED = 5000


def faiss_gpu_count() -> int:
    # faiss-cpu has get_num_gpus() returning 0; guard anyway for builds without it.
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


class SimilarityIndex:
    """Thread-safe id -> vector index; ``search`` returns (id, cosine) best first."""

    def __init__(
        self,
        dim: int = 384,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        use_gpu: bool | None = None,
        search_threads: int = DEFAULT_SEARCH_THREADS,
    ) -> None:
        if search_threads < 1:
            raise ValueError(f"search_threads must be >= 1, got {search_threads}")
        self.dim = dim
        self.hnsw_threshold = hnsw_threshold
        self.search_threads = search_threads
        gpus = faiss_gpu_count()
        self.use_gpu = gpus > 0 if use_gpu is None else (use_gpu and gpus > 0)
        self._lock = threading.Lock()
        self._ids: list[str] = []  # faiss label i <-> self._ids[i] (labels are sequential)
        self._positions: dict[str, int] = {}
        self._hnsw = False
        self._index = self._place(faiss.IndexFlatIP(dim))
        self._int8: Int8Flat | None = None
        if not self.use_gpu:
            int8 = Int8Flat(dim, search_threads)
            # A CPU whose int8 product is not exact (saturating kernels) keeps faiss.
            self._int8 = int8 if int8.exact else None

    @property
    def kind(self) -> str:
        """'flat' or 'hnsw' (plus '-gpu' when on a GPU), for metrics and tests."""
        with self._lock:
            return ("hnsw" if self._hnsw else "flat") + ("-gpu" if self.use_gpu else "")

    def _place(self, index: faiss.Index) -> faiss.Index:
        if self.use_gpu:
            return faiss.index_cpu_to_all_gpus(index)
        return index

    def _prepare(self, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        array = np.array(vectors, dtype=np.float32, order="C", copy=True, ndmin=2)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape [n, {self.dim}], got {array.shape}")
        if not np.isfinite(array).all():
            # Stored, a NaN or an infinity (a float64 past float32's range becomes one) would
            # meet every later search: its cosines are NaN. One check per batch (~0.04 us a
            # vector); which row only on the error path.
            rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
            raise ValueError(
                f"vector row {rows[0]} is not finite (NaN or infinity)"
                + (f", and {len(rows) - 1} more row(s)" if len(rows) > 1 else "")
            )
        # Normalise defensively (on our copy): cosine scores stay correct for any caller.
        faiss.normalize_L2(array)
        return array

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._positions

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> int:
        """Add vectors under ``ids``; ids already present are skipped (replays are harmless).
        Returns how many were added. A batch with a non-finite vector raises ValueError and
        adds nothing."""
        array = self._prepare(vectors)
        if len(ids) != array.shape[0]:
            raise ValueError(f"{len(ids)} ids for {array.shape[0]} vectors")
        with self._lock:
            keep: list[int] = []
            for row, id_ in enumerate(ids):
                if id_ not in self._positions:
                    self._positions[id_] = len(self._ids)
                    self._ids.append(id_)
                    keep.append(row)
            if not keep:
                return 0
            new = array if len(keep) == len(ids) else array[keep]
            if not self._hnsw and not self.use_gpu and len(self._ids) > self.hnsw_threshold:
                self._switch_to_hnsw(new)
            else:
                self._index.add(new)
                if self._int8 is not None:
                    self._int8.add(new)
            return len(keep)

    def _switch_to_hnsw(self, new: npt.NDArray[np.float32]) -> None:
        # Flat indexes store the raw vectors, so the rebuild needs no copy kept on our side.
        existing = self._index.reconstruct_n(0, self._index.ntotal)
        hnsw = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        hnsw.add(np.concatenate([existing, new]))
        self._index = hnsw
        self._hnsw = True
        self._int8 = None  # HNSW searches on its own graph: the int8 copy's memory goes

    def _uses_int8(self) -> bool:
        return self._int8 is not None and len(self._ids) >= INT8_MIN_STORED

    def _stored(self) -> npt.NDArray[np.float32]:
        """The flat index's FP32 vectors by label, a view of faiss's own storage (valid until
        the next add: read under the lock)."""
        n = self._index.ntotal
        flat = self._index
        assert isinstance(flat, faiss.IndexFlat)  # the CPU flat index while the int8 copy exists
        view: npt.NDArray[np.float32] = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim)
        return view.reshape(n, self.dim)

    def search(self, vectors: npt.ArrayLike, k: int) -> list[list[tuple[str, float]]]:
        """Top-``k`` (id, cosine) per query, best first. Nothing is excluded: a query that is
        itself in the index finds itself, and the caller filters that out."""
        ids, labels, scores = self.search_arrays(vectors, k)
        # HNSW may return label -1 when it finds fewer than k neighbours: drop those slots.
        return [
            [
                (ids[label], float(score))
                for label, score in zip(row_l, row_s, strict=True)
                if label >= 0
            ]
            for row_l, row_s in zip(labels.tolist(), scores.tolist(), strict=True)
        ]

    def search_arrays(
        self, vectors: npt.ArrayLike, k: int
    ) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """``search`` as faiss returns it: (the ids by label, labels [queries, k'], cosines
        [queries, k']), k' = min(k, len(self)), label -1 for an empty slot (HNSW), best first;
        no tuple per hit for a caller that reads the hits as arrays."""
        queries = self._prepare(vectors)
        with self._lock:
            k = min(k, len(self._ids))
            if k <= 0:
                empty = np.empty((queries.shape[0], 0))
                return self._ids, empty.astype(np.int64), empty.astype(np.float32)
            if self._uses_int8():
                assert self._int8 is not None
                labels, scores = self._int8.search(queries, self._stored(), k)
            else:
                with limited_for(queries.shape[0], self.search_threads):
                    scores, labels = self._index.search(queries, k)
            # The id list is append-only and every returned label existed at search time, so
            # mapping labels to ids after releasing the lock is safe.
            ids = self._ids
        return ids, labels, scores
