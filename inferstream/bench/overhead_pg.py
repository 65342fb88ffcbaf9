"""Postgres's share of `inferstream bench overhead`, child by child.

The postgres row is the postmaster's tree over the window (its own CPU, its live children's, and
the reaped children's through its cutime). Two things in that tree are not alike: the bench
driver's own connection (its row polls), which is the driver's cost and not the pipeline's, and
the pipeline's own parts (the sink's backend, autovacuum, the checkpointer and WAL writers).
A reaped child's CPU is only a sum in the postmaster's cutime, so the children are read from
/proc while they live: at every row poll (0.1 s) and settle reading. A child that exited is
credited up to its last reading; the rest of it, and the postmaster's own CPU, is "the
postmaster, and exited children after their last reading". The driver's connection is opened
before the window and held open past its end, so its backend is read at both ends and all of
its CPU is taken out of the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from inferstream.bench.harness import BenchError
from inferstream.bench.proctimes import PROC, read_stat

DRIVER_APP = "inferstream-bench-driver"
SINK = "sink's backend (its COPY and COMMIT)"
AUTOVACUUM = "autovacuum (launcher, workers)"
WRITERS = "checkpointer, walwriter, background writer"
OTHERS = "other backends and background processes"
POSTMASTER = "postmaster, and exited children after their last reading"
_WRITER_TITLES = ("checkpointer", "walwriter", "background writer")
# pg_stat_activity's query is a backend's last statement. The sink's connection is the one
# client that writes results: every batch ends with its COMMIT (sink/writer.py), after a COPY
# into the results table or its staging table.
_SINK_STATEMENTS = ("COMMIT", "COPY results_", "INSERT INTO results_")


def children(pid: int) -> list[int]:
    """The live children of ``pid`` (its main thread's /proc children list)."""
    try:
        text = (PROC / str(pid) / "task" / str(pid) / "children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def title(pid: int) -> str:
    """A Postgres process's title ('postgres: checkpointer', 'postgres: user db [local] idle')."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def kind(process_title: str) -> str:
    """The split's group of a child, from its title (clients are told apart later)."""
    if "autovacuum" in process_title:
        return AUTOVACUUM
    if any(name in process_title for name in _WRITER_TITLES):
        return WRITERS
    return OTHERS


def sink_statement(query: str) -> bool:
    return query.lstrip().startswith(_SINK_STATEMENTS)


@dataclass
class _Seen:
    title: str
    first: float  # CPU seconds when the window opened (0.0 for a child born in it)
    last: float  # CPU seconds at its last reading


@dataclass(frozen=True)
class PgShare:
    """Postgres over the window: the row (the driver's backend taken out), its split, and the
    driver's backend."""

    row: float
    split: dict[str, float]
    driver_backend: float


@dataclass
class PgSampler:
    postmaster: int
    driver_pid: int
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _start: float = 0.0
    _end: float = 0.0

    def start(self) -> None:
        """The reading that opens the window: every live child's CPU so far is not the window's."""
        self._seen.clear()
        self._start = self._read(born_in_window=False)
        if self.driver_pid not in self._seen:
            raise BenchError(f"the driver's Postgres backend {self.driver_pid} is not running")

    def sample(self) -> None:
        """Credit every live child with its CPU so far (called at each row poll)."""
        self._read(born_in_window=True)

    def stop(self) -> None:
        """The reading that closes the window; the driver's backend must still be running (had
        it ended, its CPU would be in the postmaster's cutime with no way to take it out)."""
        self._end = self._read(born_in_window=True)
        if self.driver_pid not in children(self.postmaster):
            raise BenchError("the driver's Postgres connection ended inside the window")

    def share(self, clients: Mapping[int, str]) -> PgShare:
        """The window's figures. ``clients``: pid -> last statement of every client backend
        alive after the window (pg_stat_activity), to tell the sink's apart."""
        split = dict.fromkeys((SINK, AUTOVACUUM, WRITERS, OTHERS), 0.0)
        for pid, seen in self._seen.items():
            if pid == self.driver_pid:
                continue
            group = kind(seen.title)
            if group == OTHERS and sink_statement(clients.get(pid, "")):
                group = SINK
            split[group] += seen.last - seen.first
        driver = self._seen[self.driver_pid]
        driver_cpu = driver.last - driver.first
        row = self._end - self._start - driver_cpu
        # Readings are whole clock ticks: the rounding drops float noise (a -0.000 row).
        split[POSTMASTER] = round(row - sum(split.values()), 6)
        return PgShare(row=row, split=split, driver_backend=driver_cpu)

    def _read(self, *, born_in_window: bool) -> float:
        """Read the postmaster and its children; returns the tree's CPU seconds so far."""
        root = read_stat(PROC / str(self.postmaster) / "stat")
        if root is None:
            raise BenchError(f"the Postgres postmaster {self.postmaster} is gone")
        total = root.own + root.reaped
        for pid in children(self.postmaster):
            stat = read_stat(PROC / str(pid) / "stat")
            if stat is None:
                continue  # exited since the listing: reaped, in the postmaster's cutime
            total += stat.own + stat.reaped
            seen = self._seen.get(pid)
            if seen is None:
                first = 0.0 if born_in_window else stat.own
                self._seen[pid] = seen = _Seen(title(pid), first, stat.own)
            seen.last = stat.own
        return total
