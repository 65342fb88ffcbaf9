"""Run several stage workers as separate processes (`inferstream worker all`, the demo)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
    # stopped (_reserve_port): released at once, another process's bind could take it first.
    reserved: dict[str, socket.socket] = field(default_factory=dict)

    def count(self, stage: str) -> int:
        if isinstance(self.replicas, int):
            return self.replicas
        return self.replicas.get(stage, 1)

    def start(self) -> None:
        plan = [(stage, r) for stage in STAGES for r in range(self.count(stage))]
        for index, (stage, replica) in enumerate(plan):
            self.start_one(stage, replica, index)

    def start_one(self, stage: str, replica: int, index: int, name: str | None = None) -> str:
        """Start (or restart) one worker; name defaults to <stage>-<replica>."""
        name = name or f"{stage}-{replica}"
        self._release(name)
        if self.metrics_port_base:
            port = self.metrics_port_base + index
        else:
            self.reserved[name] = _reserve_port()
            port = int(self.reserved[name].getsockname()[1])
        self.ports[name] = port
        argv = [sys.executable, "-m", "inferstream", "worker", stage, "--task", self.task]
        argv += ["--metrics-port", str(port)]
        out: int | object = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{self.task}-{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
        return name

    def wait_ready(self, timeout_s: float = 300.0, names: Iterable[str] | None = None) -> None:
        """Until every worker (or those named) answers 200 on /ready (model loaded,
        dependencies reachable)."""
        deadline = time.monotonic() + timeout_s
        watched = set(self.procs if names is None else names)
        waiting = set(watched)
        while waiting:
            failed = {n: code for n, code in self.failed().items() if n in watched}
            if failed:
                raise RuntimeError(f"worker exited before it was ready: {failed}")
            waiting = {name for name in waiting if not self.is_ready(name)}
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {sorted(waiting)}")
            if waiting:
                time.sleep(0.25)

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
            held.close()


def _reserve_port() -> socket.socket:
    """A free loopback port, bound and held by the returned socket until it is closed.

    The socket has SO_REUSEADDR and never listens, so on Linux the worker's HTTP server (which
    sets SO_REUSEADDR too, and listens) may bind the same port, while the kernel hands the port
    to no other bind(0) or outgoing connection and refuses it to a bind without SO_REUSEADDR. A
    port found free and released before the worker starts (seconds later, at load) could go to
    any of those. Not covered: a program that chose the same port by itself before it was
    reserved and binds it with SO_REUSEADDR (a Go listener, SeaweedFS's paired +10000 ports):
    the worker then exits on EADDRINUSE, as before."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
