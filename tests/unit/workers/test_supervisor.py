"""The supervisor's choice of a worker's metrics port: held until the worker is replaced or
stopped, so that no other process can bind it between the choice and the worker's start."""

from __future__ import annotations

import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import pytest

from inferstream.workers.supervisor import Supervisor


def _plain_bind(port: int) -> bool:
    """Whether a bind of the port by another socket (no SO_REUSEADDR) succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        try:
            other.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class _Sleeper:
    """Popen's stand-in: `start_one` needs a process object; this one never runs."""

    def __init__(self, args: list[str], **_: object) -> None:
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode


def _proc(supervisor: Supervisor, name: str) -> _Sleeper:
    return cast(_Sleeper, supervisor.procs[name])


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    monkeypatch.setattr(subprocess, "Popen", _Sleeper)
    return Supervisor("bug_report")


def test_a_chosen_port_is_held_until_the_worker_binds_it(supervisor: Supervisor) -> None:
    name = supervisor.start_one("enrich", 0, 0)
    port = supervisor.ports[name]
    assert _proc(supervisor, name).args[-2:] == ["--metrics-port", str(port)]
    # Anyone else's bind is refused while the worker starts (a released port was free here).
    assert not _plain_bind(port)
    # The worker's own HTTP server (SO_REUSEADDR, listening) binds it all the same.
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    try:
        assert server.server_port == port
    finally:
        server.server_close()


def test_a_replaced_or_stopped_worker_gives_its_port_back(supervisor: Supervisor) -> None:
    name = supervisor.start_one("infer", 0, 0)
    first = supervisor.ports[name]
    supervisor.start_one("infer", 0, 0)  # the restart of a worker takes a new port
    assert supervisor.ports[name] != first
    assert _plain_bind(first)
    second = supervisor.ports[name]
    _proc(supervisor, name).returncode = 0
    supervisor.stop()
    assert _plain_bind(second)
    assert supervisor.reserved == {}


def test_a_fixed_port_base_reserves_nothing(supervisor: Supervisor) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        base = int(probe.getsockname()[1])
    fixed = Supervisor("bug_report", metrics_port_base=base)
    name = fixed.start_one("sink", 0, 2)
    assert fixed.ports[name] == base + 2
    assert fixed.reserved == {}
    assert sys.executable in _proc(fixed, name).args


def test_wait_ready_fails_on_a_worker_that_exited(supervisor: Supervisor) -> None:
    name = supervisor.start_one("sink", 0, 0)
    _proc(supervisor, name).returncode = 3
    with pytest.raises(RuntimeError, match="exited before it was ready"):
        supervisor.wait_ready(timeout_s=5)
