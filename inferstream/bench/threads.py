"""Where the CPU goes inside a worker process: its threads' CPU seconds (/proc), grouped by what
each thread does in the stage runtime.

The runtime gives each phase a thread of its own (workers/runtime/: runner.py, cycle.py): the
main thread polls, decodes the Kafka messages into records and commits offsets; ``prepare``
forms batches and runs the stage's prepare step (infer: decode the enriched records, tokenise,
bucket); ``run`` runs the stage's process step and makes its outputs durable (produce + flush,
or the Postgres write). librdkafka's own threads (``rdk:*``) do the network and protocol work.
So per-thread CPU is a per-phase split at no cost: no profiler runs during the timed window.
The same grouping applies to each thread's wait for a CPU (``waits``): a phase's CPU plus that
wait is how long it was busy, so the busiest phase, and whether the machine's load or the phase's
own CPU made it so, can be read per run.

Python threads all show the interpreter's name in /proc, so their names are read once, before
the window, with ``py-spy dump`` (it reads the interpreter's memory without stopping it); without
py-spy (a dev dependency) the Python threads fall into one group.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from inferstream.bench import proctimes

# Python thread name (prefix) -> the phase it runs, in report order.
PYTHON_GROUPS = (
    ("MainThread", "main: poll, decode to records, commit"),
    ("prepare", "prepare: batching, stage prepare step"),
    ("run", "run: process step, outputs durable"),
    ("model-call", "model calls (null model)"),
    ("result-follower", "result follower (dedup index)"),
    ("health-http", "health / metrics HTTP"),
)
POOL_SUFFIX = re.compile(r"([_-]\d+)+$")
RDKAFKA = "librdkafka threads (rdk:*)"
PYTHON_UNNAMED = "threads named like the interpreter (Python and native pools; no py-spy)"
OTHER = "other threads (native pools, exited threads)"


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def python_thread_names(pid: int, timeout_s: float = 30.0) -> dict[int, str]:
    """OS thread id -> Python thread name of the live Python threads of ``pid`` ({} when py-spy
    is missing or cannot read the process)."""
    spy = py_spy()
    if spy is None:
        return {}
    try:
        result = subprocess.run(
            [spy, "dump", "--pid", str(pid), "--json", "--nonblocking"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        threads = json.loads(result.stdout) if result.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return {
        int(t["os_thread_id"]): str(t.get("thread_name") or "")
        for t in threads
        if isinstance(t, dict) and t.get("os_thread_id") is not None
    }


def group_of(comm: str, python_name: str | None) -> str:
    """The phase a thread belongs to, from its Python name if known, else its /proc comm."""
    if python_name is not None:
        for prefix, group in PYTHON_GROUPS:
            if python_name.startswith(prefix):
                return group
        # A pool's threads are one group: "artifacts_0".."artifacts_7" -> "artifacts_*".
        pool = POOL_SUFFIX.sub("", python_name)
        if pool != python_name:
            return f"Python threads {pool + '_*'!r}"
        return f"Python thread {python_name!r}"
    if comm.startswith("rdk:"):
        return RDKAFKA
    return OTHER


def split(
    pid: int,
    before: Mapping[int, tuple[str, float]],
    after: Mapping[int, tuple[str, float]],
    names: Mapping[int, str],
    process_seconds: float,
) -> dict[str, float]:
    """CPU seconds per group over the window between two ``proctimes.thread_seconds`` readings.
    Threads seen only after are counted from zero; what the live threads do not account for
    (threads that exited, rounding) goes to OTHER, so the groups add up to the process."""
    out: dict[str, float] = {}
    # The main thread's tid is the pid; other threads inherit its comm unless they rename.
    python_comm = after.get(pid, before.get(pid, ("", 0.0)))[0]
    for tid, (comm, seconds) in after.items():
        spent = seconds - before.get(tid, (comm, 0.0))[1]
        group = _group(tid, comm, names, python_comm)
        out[group] = out.get(group, 0.0) + spent
    rest = process_seconds - sum(out.values())
    out[OTHER] = out.get(OTHER, 0.0) + rest
    if abs(out[OTHER]) < 1e-9:
        del out[OTHER]
    return out


def waits(
    pid: int,
    before: Mapping[int, float],
    after: Mapping[int, float],
    threads: Mapping[int, tuple[str, float]],
    names: Mapping[int, str],
) -> dict[str, float]:
    """Seconds each group waited for a CPU between two ``proctimes.thread_waits`` readings,
    grouped as ``split`` groups CPU (``threads``: a ``snapshot`` for the comms). Threads that
    exited in between are left out: no remainder is known for waits."""
    python_comm = threads.get(pid, ("", 0.0))[0]
    out: dict[str, float] = {}
    for tid, waited in after.items():
        comm = threads.get(tid, ("", 0.0))[0]
        group = _group(tid, comm, names, python_comm)
        out[group] = out.get(group, 0.0) + waited - before.get(tid, 0.0)
    return out


def _group(tid: int, comm: str, names: Mapping[int, str], python_comm: str) -> str:
    if tid in names:
        return group_of(comm, names[tid])
    if not names and comm == python_comm:
        return PYTHON_UNNAMED
    return group_of(comm, None)


def snapshot(pid: int) -> dict[int, tuple[str, float]]:
    """tid -> (comm, CPU seconds so far) of every live thread of ``pid``."""
    return proctimes.thread_seconds(pid)
