"""The nemesis of a chaos run, as it executes the schedule (schedule.py): worker faults on the
run's main thread (kills, storms, SIGSTOP of a worker), server faults one after another on
their own thread, and, after each fault, how long until the next new row.

A target with schedule.MEDIA_PREFIX is a media worker: its fault goes to the media lane's
nemesis (its own supervisor), and its recovery is counted in media rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from inferstream.chaos import faults
from inferstream.chaos.media import MediaLane
from inferstream.chaos.result import Executed
from inferstream.chaos.schedule import Fault, split_target
from inferstream.chaos.workers import WorkerNemesis

RECOVERY_TIMEOUT_S = 120.0


class FaultLanes:
    """Mixed into ChaosRun, which provides this state and the three methods below."""

    data_dir: Path
    faults: list[Fault]
    executed: list[Executed]
    nemesis: WorkerNemesis
    media: MediaLane | None
    ids: list[str]
    say: Callable[[str], None]
    _stop: threading.Event
    _publishing_done: threading.Event
    _t0: float

    def _spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        raise NotImplementedError

    def _check_threads(self) -> None:
        raise NotImplementedError

    def _rows(self) -> int:
        raise NotImplementedError

    def _until(self, when: float) -> None:
        """Wait for a scheduled time, restarting crashed workers and driving storms meanwhile."""
        while True:
            self._check_threads()
            self.nemesis.tick()
            if self.media is not None:
                self.media.nemesis.tick()
            if time.monotonic() >= when:
                return
            time.sleep(min(0.2, max(0.0, when - time.monotonic())))

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 1)

    def _target(self, fault: Fault) -> tuple[WorkerNemesis, str, Callable[[], int], int | None]:
        """The nemesis a worker fault goes to, the name it knows, and the row count (with the
        number expected, None while publishing) its recovery is measured by."""
        media, name = split_target(fault.target)
        if not media:
            return self.nemesis, name, self._rows, None
        if self.media is None:
            raise ValueError(f"a media fault without media submissions: {fault.target}")
        return self.media.nemesis, name, self.media.rows, self.media.count

    def _worker_fault(self, fault: Fault) -> None:
        self.say(f"fault: {fault.describe()}")
        done = Executed(fault, self._now())
        self.executed.append(done)
        nemesis, name, _, _ = self._target(fault)
        if fault.kind == "kill":
            done.exit_code, done.note = nemesis.kill(name)
        elif fault.kind == "storm":
            nemesis.start_storm(name, fault.duration_s)
        elif fault.kind == "pause":
            pid = nemesis.pid_of(name)
            self._spawn(lambda: self._pause_worker(fault, done, pid), f"chaos-pause-{fault.target}")
            return
        done.ended_s = self._now() + (fault.duration_s if fault.kind == "storm" else 0.0)
        self._measure_recovery(fault, delay_s=fault.duration_s if fault.kind == "storm" else 0.0)

    def _pause_worker(self, fault: Fault, done: Executed, pid: int) -> None:
        frozen = faults.pause([pid], fault.duration_s, self._stop)
        done.ended_s = done.started_s + frozen
        self._measure_recovery(fault)

    def _server_lane(self) -> None:
        """Server faults one after another, each at its time or when the previous one ended."""
        for fault in (f for f in self.faults if f.server_lane):
            if self._stop.wait(max(0.0, self._t0 + fault.at_s - time.monotonic())):
                return
            self.say(f"fault: {fault.describe()}")
            done = Executed(fault, self._now())
            self.executed.append(done)
            try:
                self._server_fault(fault)
            except faults.Interrupted:
                raise
            except Exception as err:
                done.error = f"{type(err).__name__}: {err}"
                raise
            done.ended_s = self._now()
            self._measure_recovery(fault)

    def _server_fault(self, fault: Fault) -> None:
        if fault.kind in ("postgres", "s3"):
            faults.outage(self.data_dir, fault.kind, fault.duration_s, self._stop)
        elif fault.kind == "broker":
            faults.kill_broker(self.data_dir, fault.duration_s, self._stop)
        elif fault.kind == "restart":
            faults.restart_stack(self.data_dir, fault.duration_s, self._stop)
        elif fault.kind == "pause":
            pids = faults.server_pids(self.data_dir, fault.target)
            faults.pause(pids, fault.duration_s, self._stop)
        else:
            raise ValueError(f"not a server fault: {fault.kind}")

    def _measure_recovery(self, fault: Fault, delay_s: float = 0.0) -> None:
        """In the background: seconds from the fault's end to the next new row (None: no new
        row within the timeout, or nothing was left to process)."""
        if fault.server_lane:
            count, expected = self._rows, None
        else:
            _, _, count, expected = self._target(fault)

        def left() -> bool:
            total = len(self.ids) if expected is None else expected
            return not (self._publishing_done.is_set() and count() >= total)

        def measure() -> None:
            if self._stop.wait(delay_s):
                return
            since = time.monotonic()
            before = count()
            deadline = since + RECOVERY_TIMEOUT_S
            while not self._stop.wait(0.2) and time.monotonic() < deadline:
                rows = count()
                if before < 0:  # Postgres was unreachable at the fault's end: count from now
                    before = rows
                elif rows > before:
                    fault.recovered_after_s = round(time.monotonic() - since, 1)
                    return
                elif not left():
                    return

        threading.Thread(target=measure, name="chaos-recovery", daemon=True).start()
