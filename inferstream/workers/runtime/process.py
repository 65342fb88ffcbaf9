"""The end of a worker process, shared by every launcher: stop on SIGTERM/SIGINT, map how the
loop ended to an exit status, and skip the consumer's close where the broker makes it unsafe."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Protocol

import structlog

from inferstream.errors import FatalStageError

log = structlog.get_logger("inferstream.worker")

# Python's default (700, 10, 10) runs a young collection every 700 net container allocations: a
# batch of a few hundred records allocates tens of thousands (decoded JSON, result dicts), so
# the collector ran many times per batch and, every 100th time, walked every long-lived object
# (model, index, settings, imported modules) again. What a young collection walks is what is
# alive at that moment (the records in flight, the batch being run: ~10,000-15,000 objects in a
# stage worker, 2-6 ms), whatever the threshold, now that a batch's objects are freed by their
# reference counts when its run ends (isolation.py; tests/unit/workers/runtime/
# test_runtime_heap.py). So a higher threshold makes collections rarer, not dearer: at 50,000
# a bench overhead run of 20,000 records collected once (infer) instead of 26-28 times in all,
# GC 6.1 -> 0.6 us per record over the stage workers, their RSS the same (enrich 156 / 158 MB,
# infer 300 / 298, sink 146 / 146). It bounds the cyclic garbage waiting for a collection to
# about 50,000 objects (a few MB; none is made per record). Until that fix every batch was such
# garbage, and the threshold was 10,000: at (50000, 20, 10) the sink's RSS grew ~30 MB more over
# a 5,000-record run.
GC_THRESHOLDS = (50_000, 10, 10)


class Server(Protocol):
    def shutdown(self) -> None: ...


def exit_on_early_stop() -> None:
    """Until ``run_until_stopped`` takes over, SIGTERM/SIGINT end the process with status 0.

    A worker stopped while it starts (importing, loading its model, waiting for the broker)
    has consumed and committed nothing, so there is nothing to finish; without this the
    default disposition kills it (-15, a traceback for Ctrl-C), which an orchestrator that
    stops a worker right after starting it (a rollout, a chaos run's final stop) reads as a
    crash. Called first thing by ``inferstream worker``."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopped before the stage started", signal=signal.Signals(signum).name)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def settle_heap() -> None:
    """Call once start-up is over (modules imported, model and index loaded): collect what
    start-up left, move every surviving object to the collector's permanent generation
    (``gc.freeze``: never scanned again, and pages shared copy-on-write stay shared), and
    collect young objects far less often. Measured in docs/benchmarks.md ("overhead")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_until_stopped(
    run: Callable[[], None],
    request_stop: Callable[[], None],
    *,
    server: Server,
    leave_group_on_close: bool,
    stopping: str = "stopping: finishing the batch in flight",
) -> None:
    """``run()`` until it returns; SIGTERM/SIGINT call ``request_stop`` (logged as
    ``stopping``). Exit status: 0 after a clean stop, 2 when the stage refused to go on
    (FatalStageError), 1 on a crash; the health server is shut down in every case."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info(stopping, signal=signal.Signals(signum).name)
        request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        run()
    except FatalStageError as err:
        log.error("stage stopped", reason=str(err))
        code = 2
    except Exception:
        log.exception("stage crashed (nothing past the failure was committed)")
        code = 1
    finally:
        server.shutdown()
    if not leave_group_on_close:
        # Skip the consumer's close (and its LeaveGroup) on brokers where it is unsafe.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise SystemExit(code)
