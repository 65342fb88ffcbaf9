"""CPU seconds read straight from /proc/<pid>/stat (utime + stime), per process tree and per
thread, for `inferstream bench overhead`.

Linux only. A process tree's figure is its own utime+stime plus, for it and every live
descendant, cutime+cstime (the time of children it has already reaped): pgserver forks a
backend per connection, and a backend that ran and exited inside the timed window is counted
through the postmaster's cutime. Each reading is a plain file read, cheap enough to take on the
cores being measured.

A thread's time waiting for a CPU (runnable, on the run queue) comes from
/proc/<pid>/task/<tid>/schedstat (its second field, nanoseconds): CPU time plus that wait is the
time a thread was busy, whatever the machine's load left it; the rest of the window it was
blocked (a fetch, a flush, a lock, a queue) or idle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat this module uses; times in seconds."""

    pid: int
    comm: str
    ppid: int
    utime: float
    stime: float
    cutime: float
    cstime: float

    @property
    def own(self) -> float:
        return self.utime + self.stime

    @property
    def reaped(self) -> float:
        return self.cutime + self.cstime


def parse_stat(text: str) -> Stat:
    """Parse one stat line. comm sits in parentheses and may itself hold spaces and ')', so the
    fields are split after the LAST ')' (proc(5): fields 4.. follow it)."""
    head, _, tail = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = tail.split()
    # tail[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    ticks = [int(fields[i]) / TICK for i in (11, 12, 13, 14)]
    return Stat(int(pid_text), comm, int(fields[1]), *ticks)


def read_stat(path: Path) -> Stat | None:
    """None when the process or thread is gone (it may exit between listing and reading)."""
    try:
        return parse_stat(path.read_text())
    except (OSError, ValueError, IndexError):
        return None


def _all_stats() -> Iterator[Stat]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(entry / "stat")
            if stat is not None:
                yield stat


def tree_seconds(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its descendants so far (0.0 when it is gone or None)."""
    if pid is None:
        return 0.0
    stats = {s.pid: s for s in _all_stats()}
    if pid not in stats:
        return 0.0
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    total, pending = 0.0, [pid]
    while pending:
        stat = stats[pending.pop()]
        total += stat.own + stat.reaped
        pending.extend(children.get(stat.pid, []))
    return total


def thread_seconds(pid: int) -> dict[int, tuple[str, float]]:
    """tid -> (thread comm, utime+stime so far) of every live thread of ``pid``."""
    out: dict[int, tuple[str, float]] = {}
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        stat = read_stat(task / "stat")
        if stat is not None:
            out[stat.pid] = (stat.comm, stat.own)
    return out


def parse_schedstat(text: str) -> float:
    """Seconds on the run queue from a schedstat line: 'cpu_ns run_delay_ns timeslices'."""
    return int(text.split()[1]) / 1e9


def thread_waits(pid: int) -> dict[int, float]:
    """tid -> seconds each live thread of ``pid`` has waited for a CPU so far ({} where the
    kernel keeps no schedstat)."""
    out: dict[int, float] = {}
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out[int(task.name)] = parse_schedstat((task / "schedstat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone between listing and reading, or no schedstat
    return out


def self_seconds() -> float:
    """This process's own CPU seconds, all threads, without its reaped children."""
    stat = read_stat(PROC / "self" / "stat")
    return stat.own if stat is not None else 0.0
