"""The worker side of the nemesis: SIGKILLs, restarts after a delay, rebalance storms, and a
record of every worker exit (the run asserts that only our SIGKILLs ended a worker)."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field

from inferstream.workers.supervisor import Supervisor

RESTART_DELAY_S = 1.0
STORM_EVERY_S = 2.0


@dataclass
class _Storm:
    stage: str
    end: float
    next_at: float
    members: list[str] = field(default_factory=list)


class WorkerNemesis:
    """Only the run's main thread calls this (the supervisor is not thread-safe)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.restarts = 0
        self.exits: list[tuple[str, int]] = []  # regular workers only, in the order seen
        self.storm_members: set[str] = set()
        self._seen: set[int] = set()  # pids whose exit is recorded
        self._exited_at: dict[str, float] = {}
        self._storms: list[_Storm] = []
        self._storm_n = 0

    def tick(self) -> None:
        self.restart_exited()
        self._drive_storms()

    def pid_of(self, name: str) -> int:
        proc = self._alive(name)
        return proc.pid

    def kill(self, name: str) -> tuple[int | None, str]:
        """SIGKILL one worker; a worker that is down (killed moments ago, not yet restarted) is
        restarted first so that the kill still happens. Returns (exit code, note)."""
        note = ""
        proc = self.supervisor.procs.get(name)
        if proc is None or proc.poll() is not None:
            self._record_exits()
            self._restart(name)
            note = "was down: restarted, then killed"
        self.supervisor.kill(name)
        self._record_exits()
        return self.supervisor.procs[name].returncode, note

    def restart_exited(self, force: bool = False) -> None:
        """Restart regular workers that exited, RESTART_DELAY_S after their exit."""
        self._record_exits()
        now = time.monotonic()
        for name in list(self.supervisor.failed()):
            if name in self.storm_members:
                continue
            first = self._exited_at.setdefault(name, now)
            if force or now - first >= RESTART_DELAY_S:
                self._restart(name)

    def start_storm(self, stage: str, duration_s: float) -> None:
        now = time.monotonic()
        self._storms.append(_Storm(stage, now + duration_s, now))
        self._drive_storms()

    def end_storms(self) -> None:
        for storm in self._storms:
            storm.end = 0.0
        self._drive_storms()

    def _drive_storms(self) -> None:
        """An extra member joins every STORM_EVERY_S and the previous one leaves (SIGTERM), the
        next one only once the newest is ready. Without that wait, at load 20-40 a member took
        longer than STORM_EVERY_S to start, so each was stopped before it ever joined the group
        and the storm churned nothing (seed 5, 2026-12-06: 22 members, not one log line)."""
        now = time.monotonic()
        for storm in list(self._storms):
            if now >= storm.end:
                for name in storm.members:
                    self._terminate(name)
                self._storms.remove(storm)
            elif now >= storm.next_at and self._newest_ready(storm):
                name = f"{storm.stage}-x{self._storm_n}"
                self._storm_n += 1
                self.storm_members.add(name)
                self.supervisor.start_one(storm.stage, 0, 0, name)
                storm.members.append(name)
                if len(storm.members) > 1:
                    self._terminate(storm.members.pop(0))
                storm.next_at = now + STORM_EVERY_S

    def _newest_ready(self, storm: _Storm) -> bool:
        """Whether the storm's newest member is ready (or gone: then a new one may come). A
        stage worker is ready only once it has joined its group (health.member_ready), so the
        member it replaces leaves a group the newest one is in."""
        if not storm.members:
            return True
        newest = storm.members[-1]
        return self.supervisor.procs[newest].poll() is not None or self.supervisor.is_ready(newest)

    def _terminate(self, name: str) -> None:
        proc = self.supervisor.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    def _alive(self, name: str) -> subprocess.Popen[bytes]:
        proc = self.supervisor.procs.get(name)
        if proc is None or proc.poll() is not None:
            self._record_exits()
            self._restart(name)
            proc = self.supervisor.procs[name]
        return proc

    def _restart(self, name: str) -> None:
        stage, replica = name.split("-", 1)
        self.supervisor.start_one(stage, int(replica) if replica.isdigit() else 0, 0, name)
        self._exited_at.pop(name, None)
        self.restarts += 1

    def _record_exits(self) -> None:
        for name, proc in self.supervisor.procs.items():
            code = proc.poll()
            if code is not None and proc.pid not in self._seen and name not in self.storm_members:
                self._seen.add(proc.pid)
                self.exits.append((name, code))
