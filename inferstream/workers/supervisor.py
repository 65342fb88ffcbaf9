"""Run several stage workers as separate processes (`inferstream worker all`, the demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inferstream.ports import START_ATTEMPTS, PortHold, address_in_use, log_since
from inferstream.topology import STAGES


@dataclass
class Supervisor:
    task: str
    replicas: int | Mapping[str, int] = 1
    log_dir: Path | None = None
    metrics_port_base: int = 0  # 0: a free loopback port per worker
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    # The loopback port of each worker, held from its choice until the worker is replaced or
    # stopped (PortHold): released at once, another process's bind could take it first.
    reserved: dict[str, PortHold] = field(default_factory=dict)
    # How each worker was started: (stage, replica, index, attempt, its log's size before).
    starts: dict[str, _Start] = field(default_factory=dict)

    def count(self, stage: str) -> int:
        if isinstance(self.replicas, int):
            return self.replicas
        return self.replicas.get(stage, 1)

    def start(self) -> None:
        plan = [(stage, r) for stage in STAGES for r in range(self.count(stage))]
        for index, (stage, replica) in enumerate(plan):
            self.start_one(stage, replica, index)

    def start_one(
        self, stage: str, replica: int, index: int, name: str | None = None, attempt: int = 1
    ) -> str:
        """Start (or restart) one worker; name defaults to <stage>-<replica>."""
        name = name or f"{stage}-{replica}"
        self._release(name)
        if self.metrics_port_base:
            port = self.metrics_port_base + index
        else:
            self.reserved[name] = PortHold()
            port = self.reserved[name].free()
        self.ports[name] = port
        argv = [sys.executable, "-m", "inferstream", "worker", stage, "--task", self.task]
        argv += ["--metrics-port", str(port)]
        log = self.log(name)
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
        # The worker writes to its own copy of the descriptor; ours is closed here.
        with log.open("ab") if log is not None else open(os.devnull, "wb") as out:
            self.starts[name] = _Start(stage, replica, index, attempt, out.tell())
            self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        return name

    def log(self, name: str) -> Path | None:
        """The worker's log file (None without a log_dir: its output is dropped)."""
        return None if self.log_dir is None else self.log_dir / f"{self.task}-{name}.log"

    def wait_ready(self, timeout_s: float = 300.0, names: Iterable[str] | None = None) -> None:
        """Until every worker (or those named) answers 200 on /ready (model loaded,
        dependencies reachable)."""
        deadline = time.monotonic() + timeout_s
        watched = set(self.procs if names is None else names)
        waiting = set(watched)
        while waiting:
            failed = {n: code for n, code in self.failed().items() if n in watched}
            failed = {n: code for n, code in failed.items() if not self._restarted(n)}
            if failed:
                raise RuntimeError(f"worker exited before it was ready: {failed}")
            waiting = {name for name in waiting if not self.is_ready(name)}
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {sorted(waiting)}")
            if waiting:
                time.sleep(0.25)

    def _restarted(self, name: str) -> bool:
        """Start again, on a new port, a worker that exited because its port was taken: by a
        program that picked the same port by itself and bound it with SO_REUSEADDR, which the
        held port does not stop (PortHold). Up to START_ATTEMPTS starts; only with a log to
        tell (log_dir) and ports of the Supervisor's choice (no metrics_port_base)."""
        start, log = self.starts.get(name), self.log(name)
        if start is None or log is None or self.metrics_port_base:
            return False
        if start.attempt >= START_ATTEMPTS or not address_in_use(log_since(log, start.log_from)):
            return False
        self.start_one(start.stage, start.replica, start.index, name, start.attempt + 1)
        return True

    def is_ready(self, name: str) -> bool:
        """Whether this worker answers 200 on /ready now (one probe, no waiting)."""
        return _ready(self.ports[name])

    def failed(self) -> dict[str, int]:
        """Workers that exited, with their exit codes."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def stop(self, grace_s: float = 30.0) -> dict[str, int | None]:
        """SIGTERM everyone (graceful: finish the batch, commit, leave), then SIGKILL."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for name in list(self.reserved):
            self._release(name)
        return {n: p.returncode for n, p in self.procs.items()}

    def kill(self, name: str) -> None:
        """SIGKILL one worker (chaos and crash tests)."""
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def _release(self, name: str) -> None:
        held = self.reserved.pop(name, None)
        if held is not None:
            held.release()


@dataclass(frozen=True)
class _Start:
    stage: str
    replica: int
    index: int
    attempt: int
    log_from: int  # the log's size when this start began: its lines are after


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
