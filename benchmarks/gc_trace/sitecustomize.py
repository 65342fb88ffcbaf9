"""The cyclic collector of every Python process, by generation: put this folder first on
PYTHONPATH and name an output folder, and each process started with that environment (the
bench's workers inherit it) writes what its collections cost.

    GC_TRACE_DIR=/tmp/gc PYTHONPATH=benchmarks/gc_trace:$PWD \\
        python -m inferstream bench overhead --no-doc --set n=20000
    python benchmarks/gc_summary.py /tmp/gc --records 20000

Per generation and thread: collections, the CPU seconds of the collecting thread inside them
(``time.thread_time`` in the collector's callbacks), objects collected; start-up's (before
``gc.freeze``) apart. ``GC_TRACE_GARBAGE=1``: the types of what was collected
(``DEBUG_SAVEALL``); ``GC_TRACE_YOUNG=1``: the types in the young generation at each of
its collections; ``GC_TRACE_SIZES=1``: each generation's size every 10 s (a walk of the
heap). Neither is for timing runs. The file is rewritten every 2 s: workers end by
``os._exit``, which runs no exit hooks. Without ``GC_TRACE_DIR`` this module does nothing."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time

_DIR = os.environ.get("GC_TRACE_DIR")


def _command() -> str:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return " ".join(sys.argv)


def _memory() -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of this process, kB."""
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    found[line[:5]] = int(line.split()[1])
    except OSError:
        pass
    return found


def _install(folder: str) -> None:
    stats: dict[str, list[float]] = {}  # "gen/thread" -> [count, cpu s, collected, wall s]
    started: list[float] = [0.0, 0.0]
    largest: list[float] = [0.0, 0.0, 0.0]  # the costliest collection of each generation (s)
    sizes: list[list[int]] = []
    frozen = [0]  # objects frozen by the last gc.freeze (0: start-up is not over)
    freeze = gc.freeze

    def freeze_and_count() -> None:
        # gc.get_freeze_count walks the permanent generation (~7 ms in a worker): counted
        # here once, not per collection or dump.
        freeze()
        frozen[0] = gc.get_freeze_count()

    gc.freeze = freeze_and_count

    young: dict[str, int] = {}  # what the young collections found alive, by type
    with_young = os.environ.get("GC_TRACE_YOUNG") == "1"

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and with_young and info["generation"] == 0 and frozen[0]:
            for obj in gc.get_objects(0):
                name = type(obj).__qualname__
                young[name] = young.get(name, 0) + 1
        if phase == "start":
            started[0] = time.thread_time()
            started[1] = time.perf_counter()
            return
        cpu = time.thread_time() - started[0]
        wall = time.perf_counter() - started[1]
        generation = info["generation"]
        # Before settle_heap's gc.freeze the collections are start-up's (imports, model).
        phase = "run" if frozen[0] else "start-up"
        key = f"{generation}/{threading.current_thread().name}/{phase}"
        entry = stats.get(key)
        if entry is None:
            entry = stats[key] = [0, 0.0, 0, 0.0]
        entry[0] += 1
        entry[1] += cpu
        entry[2] += info["collected"]
        entry[3] += wall
        if cpu > largest[generation]:
            largest[generation] = cpu

    gc.callbacks.append(callback)
    path = os.path.join(folder, f"{os.getpid()}.json")
    with_sizes = os.environ.get("GC_TRACE_SIZES") == "1"
    garbage: dict[str, int] = {}
    if os.environ.get("GC_TRACE_GARBAGE") == "1":
        # What the collector frees, by type: kept in gc.garbage until the next dump.
        gc.set_debug(gc.DEBUG_SAVEALL)

    def dump() -> None:
        tick = 0
        while True:
            time.sleep(2.0)
            tick += 1
            for obj in gc.garbage:
                name = type(obj).__qualname__
                garbage[name] = garbage.get(name, 0) + 1
            gc.garbage.clear()
            if with_sizes and tick % 5 == 0:
                sizes.append([len(gc.get_objects(g)) for g in range(3)] + [frozen[0]])
            body = {
                "command": _command(),
                "thresholds": gc.get_threshold(),
                "frozen": frozen[0],
                "largest_cpu_s": largest,
                "stats": {k: list(v) for k, v in list(stats.items())},
                "sizes": sizes,
                "young": sorted(young.items(), key=lambda kv: -kv[1])[:40],
                "garbage": sorted(garbage.items(), key=lambda kv: -kv[1])[:40],
                "cpu_s": time.process_time(),
                "memory_kb": _memory(),
            }
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(body, f)
            os.replace(tmp, path)

    threading.Thread(target=dump, name="gc-trace", daemon=True).start()


if _DIR:
    os.makedirs(_DIR, exist_ok=True)
    _install(_DIR)
