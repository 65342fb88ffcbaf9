"""A worker stopped while it starts exits 0, not killed by the signal (-15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

STARTING = """
import time
from inferstream.workers.runtime.process import exit_on_early_stop
exit_on_early_stop()
print("starting", flush=True)
time.sleep(60)  # a stage loading its model
raise SystemExit(3)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_start_up_exits_0(sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", STARTING], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "starting"
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0
    assert "stopped before the stage started" in proc.stdout.read()


def test_python_m_inferstream_worker_installs_it_before_the_cli_imports() -> None:
    """SIGTERM while `python -m inferstream worker` still imports the CLI (about a second)."""
    env = {**os.environ, "INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    argv = [sys.executable, "-X", "importtime", "-m", "inferstream", "worker", "enrich"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert proc.stderr is not None
    # -X importtime writes a line per import to stderr: signal once the CLI package loads.
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if b"inferstream.cli" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    proc.stderr.close()
    assert proc.wait(timeout=30) == 0


SETTLED = """
import gc, tracemalloc
from inferstream.workers.runtime.process import GC_THRESHOLDS, settle_heap
kept = [[i] for i in range(10_000)]  # what start-up loaded
settle_heap()
assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()
assert gc.get_freeze_count() >= len(kept), gc.get_freeze_count()
tracemalloc.start()
for _ in range(400_000):  # cyclic garbage, as a batch's objects can be: still collected
    a: list[object] = []
    a.append(a)
current, _ = tracemalloc.get_traced_memory()
assert current < 20_000_000, current  # 400,000 live cycles would hold ~30 MB
print("ok")
"""


def test_settle_heap_freezes_start_up_and_still_collects_cycles() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SETTLED], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
