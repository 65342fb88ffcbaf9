"""CPU time and memory of the worker processes (psutil), to show where the cores went."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
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


def server_pids(data_dir: Path) -> dict[str, int | None]:
    """Root pids of this stack's servers (Tansu, the Postgres postmaster, SeaweedFS)."""
    state = StackState.load(data_dir)
    return {
        "kafka (tansu)": state.tansu.pid if state.tansu else None,
        "postgres": pg_pid_from_datadir(data_dir),
        "s3 (seaweedfs)": state.seaweed.pid if state.seaweed else None,
    }


def server_cpu_seconds(data_dir: Path) -> dict[str, float]:
    """CPU seconds of this stack's servers (Tansu, Postgres with its backends, SeaweedFS)."""
    return {name: _tree_cpu(pid) for name, pid in server_pids(data_dir).items()}


def delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


@dataclass(frozen=True)
class BatchStats:
    """Sums of a stage's batch histograms (inferstream_batch_size, _batch_fill_ratio) over its
    workers; subtract two readings to get the batches closed in between."""

    batches: float = 0.0
    records: float = 0.0
    fill_sum: float = 0.0

    def __add__(self, other: BatchStats) -> BatchStats:
        return BatchStats(
            self.batches + other.batches,
            self.records + other.records,
            self.fill_sum + other.fill_sum,
        )

    def __sub__(self, other: BatchStats) -> BatchStats:
        return BatchStats(
            self.batches - other.batches,
            self.records - other.records,
            self.fill_sum - other.fill_sum,
        )

    @property
    def mean_size(self) -> float | None:
        return self.records / self.batches if self.batches > 0 else None

    @property
    def mean_fill(self) -> float | None:
        return self.fill_sum / self.batches if self.batches > 0 else None


_SERIES = {
    "inferstream_batch_size_count": "batches",
    "inferstream_batch_size_sum": "records",
    "inferstream_batch_fill_ratio_sum": "fill_sum",
}


def parse_batch_stats(text: str, stage: str) -> BatchStats:
    """The batch histogram sums of ``stage`` from one worker's Prometheus text exposition."""
    found = dict.fromkeys(_SERIES.values(), 0.0)
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        field_name = _SERIES.get(name)
        if field_name is None or f'stage="{stage}"' not in rest:
            continue
        found[field_name] += float(line.rsplit(" ", 1)[1])
    return BatchStats(**found)


def batch_stats(supervisors: list[Supervisor], stage: str) -> BatchStats:
    """Batch histogram sums of every running worker of ``stage`` (read from its /metrics)."""
    total = BatchStats()
    for supervisor in supervisors:
        for name, port in supervisor.ports.items():
            if not name.startswith(f"{stage}-"):
                continue
            try:
                url = f"http://127.0.0.1:{port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as response:
                    text = response.read().decode("utf-8", "replace")
            except (OSError, urllib.error.URLError):
                continue
            total = total + parse_batch_stats(text, stage)
    return total
