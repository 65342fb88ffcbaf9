"""Run several stage workers as separate processes (`inferstream worker all`, the demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from inferstream.topology import STAGES


@dataclass
class Supervisor:
    task: str
    replicas: int = 1
    log_dir: Path | None = None
    metrics_port_base: int = 0  # 0: each worker picks a free port
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        for index, (stage, replica) in enumerate(
            (stage, r) for stage in STAGES for r in range(self.replicas)
        ):
            self.start_one(stage, replica, index)

    def start_one(self, stage: str, replica: int, index: int) -> str:
        name = f"{stage}-{replica}"
        port = self.metrics_port_base + index if self.metrics_port_base else 0
        argv = [sys.executable, "-m", "inferstream", "worker", stage, "--task", self.task]
        argv += ["--metrics-port", str(port)]
        out: int | object = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{self.task}-{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
        return name

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
        return {n: p.returncode for n, p in self.procs.items()}

    def kill(self, name: str) -> None:
        """SIGKILL one worker (chaos and crash tests)."""
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
