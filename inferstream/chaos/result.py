"""What a chaos run reports: each fault as it happened, the counts, the verify reports and the
worker exits, and whether the run passed."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from inferstream.chaos.schedule import MEDIA_PREFIX, Fault
from inferstream.verify import Report


class ChaosError(RuntimeError):
    """A part of the run failed (a thread of it raised): the run stops and tears down."""


@dataclass
class Executed:
    """One fault as it happened: when (seconds from the workload's start), and how it went."""

    fault: Fault
    started_s: float
    ended_s: float | None = None
    exit_code: int | None = None  # a killed worker's exit code (-9 for SIGKILL)
    note: str = ""
    error: str | None = None

    def describe(self) -> str:
        end = "running" if self.ended_s is None else f"{self.ended_s - self.started_s:.1f}s"
        code = "" if self.exit_code is None else f" exit {self.exit_code}"
        note = f" ({self.note})" if self.note else ""
        err = f" FAILED: {self.error}" if self.error else ""
        what = f"{self.fault.kind} {self.fault.target}".strip()
        return f"t={self.started_s:6.1f}s  {what} {end}{code}{note}{err}"


@dataclass
class MediaOutcome:
    submissions: int
    published: int
    rows: int
    report: Report
    exits: list[tuple[str, int]]


@dataclass
class ChaosResult:
    faults: list[Fault]
    executed: list[Executed]
    exits: list[tuple[str, int]]  # every worker exit seen while the run went on
    final_exits: dict[str, int | None]  # exit codes at the graceful stop (SIGTERM), media too
    report: Report
    restarts: int
    submissions: int
    published: int  # acknowledged by the broker (valid + poison)
    rows: int
    poison_dead: int
    elapsed_s: float
    drained: bool
    notes: list[str] = field(default_factory=list)
    media: MediaOutcome | None = None  # with --media: the media submissions' own figures

    @property
    def unexpected_exits(self) -> list[tuple[str, int]]:
        """Exits of the regular workers (media ones included) other than by our SIGKILL."""
        media = [(f"{MEDIA_PREFIX}{n}", c) for n, c in self.media.exits] if self.media else []
        return [(n, c) for n, c in [*self.exits, *media] if c != -signal.SIGKILL]

    @property
    def unclean_stops(self) -> dict[str, int | None]:
        """Workers that did not exit 0 at the final graceful stop (SIGKILLed after its grace,
        or failed while leaving): a worker must leave cleanly whenever it is stopped."""
        return {name: code for name, code in self.final_exits.items() if code != 0}

    @property
    def ok(self) -> bool:
        faults_ran = all(e.error is None and e.ended_s is not None for e in self.executed)
        media_ok = self.media is None or self.media.report.ok
        return (
            self.drained
            and self.report.ok
            and media_ok
            and faults_ran
            and not self.unexpected_exits
            and not self.unclean_stops
        )
