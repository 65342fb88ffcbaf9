"""Scoped limits on the thread pools of the native libraries (numpy's and faiss' OpenBLAS,
faiss' OpenMP) for one call.

Why: idle OpenBLAS threads spin for a while after each call. In a worker whose cores are kept
busy by the model, a BLAS product between model calls gains little from more threads and the
spinning costs a lot: on a 16-core GPU machine four infer processes with 16 spinning threads
each starved the rest of the pipeline (docs/benchmarks.md, GPU figures, run 12:54).
"""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager, nullcontext

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
# The controller lists the pools of the libraries loaded when it was made; rebuilt when modules
# were imported since (a later import, torch say, may load another OpenMP runtime).
_controller: tuple[int, ThreadpoolController] | None = None


def limited(threads: int) -> AbstractContextManager[object]:
    """A context in which every BLAS/OpenMP pool loaded so far uses at most ``threads``."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    global _controller
    with _lock:
        modules = len(sys.modules)
        if _controller is None or _controller[0] != modules:
            _controller = (modules, ThreadpoolController())
        controller = _controller[1]
    limit: AbstractContextManager[object] = controller.limit(limits=threads)
    return limit


def limited_for(rows: int, threads: int) -> AbstractContextManager[object]:
    """``limited(threads)`` around a call over ``rows`` query rows; nothing for a single row,
    which faiss and BLAS run on one thread anyway (setting and restoring the limit costs ~40 us,
    a quarter of one HNSW query)."""
    return limited(threads) if rows > 1 else nullcontext()
