"""The decode process pool of the media inferer, whose processes end with the worker.

A pool process would otherwise outlive a worker that is SIGKILLed (a chaos run's kills, an
OOM kill) or that exits without shutting its pool down: a spawned child blocks on its call
queue, whose pipe it holds both ends of, so it never sees the parent go. Each process
therefore watches its parent and exits when it has gone (its parent pid changes on
re-parenting).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PARENT_CHECK_S = 1.0


def decode_pool(processes: int) -> ProcessPoolExecutor:
    # spawn: the worker holds Kafka and ONNX Runtime threads a fork would copy mid-flight.
    return ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=watch_parent,
        initargs=(os.getpid(),),
    )


def watch_parent(parent: int) -> None:
    """Pool initializer: a daemon thread ends this process once its parent has gone."""
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)  # a liveness poll, not a synchronisation
    os._exit(0)
