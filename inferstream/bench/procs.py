"""CPU time and memory of the worker processes (psutil), to show where the cores went."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import psutil

from inferstream.stack import StackState
from inferstream.stack.servers import pg_pid_from_datadir
from inferstream.workers.supervisor import Supervisor


def cpu_seconds(supervisors: list[Supervisor]) -> dict[str, float]:
    """user+system CPU seconds per worker name so far."""
    out: dict[str, float] = {}
    for supervisor in supervisors:
        for name, proc in supervisor.procs.items():
            try:
                times = psutil.Process(proc.pid).cpu_times()
            except psutil.Error:
                continue
            out[name] = times.user + times.system
    return out


def rss_mib(supervisors: list[Supervisor]) -> dict[str, float]:
    out: dict[str, float] = {}
    for supervisor in supervisors:
        for name, proc in supervisor.procs.items():
            try:
                out[name] = psutil.Process(proc.pid).memory_info().rss / 2**20
            except psutil.Error:
                continue
    return out


def _tree_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            times = proc.cpu_times()
            # children_*: backends that already exited (reaped by their parent).
            total += times.user + times.system + times.children_user + times.children_system
        return total
    except psutil.Error:
        return 0.0


def server_cpu_seconds(data_dir: Path) -> dict[str, float]:
    """CPU seconds of this stack's servers (Tansu, Postgres with its backends, SeaweedFS)."""
    state = StackState.load(data_dir)
    return {
        "kafka (tansu)": _tree_cpu(state.tansu.pid if state.tansu else None),
        "postgres": _tree_cpu(pg_pid_from_datadir(data_dir)),
        "s3 (seaweedfs)": _tree_cpu(state.seaweed.pid if state.seaweed else None),
    }


def delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}
