"""A worker that exits during its start because its metrics port was taken (by a program that
picked the port by itself and bound it with SO_REUSEADDR, which a held port does not stop) is
started again on a new port; a worker that exits for any other reason still fails the start."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO

import pytest

from inferstream.ports import START_ATTEMPTS
from inferstream.workers import supervisor as supervisor_module
from inferstream.workers.supervisor import Supervisor

LOST = b"OSError: [Errno 98] Address already in use\n"


class _Worker:
    """Popen's stand-in: writes its start's outcome to the log it is given, as a worker would.
    ``outcomes``: per start, the log line and exit code (None: it runs and is ready)."""

    outcomes: list[tuple[bytes, int | None]] = []
    ports: list[int] = []  # each start's port
    ready: set[int] = set()  # the ports of the workers that run

    def __init__(self, args: list[str], *, stdout: IO[bytes], **_: object) -> None:
        line, self.returncode = _Worker.outcomes.pop(0)
        stdout.write(line)
        stdout.flush()
        _Worker.ports.append(int(args[args.index("--metrics-port") + 1]))
        if self.returncode is None:
            _Worker.ready.add(_Worker.ports[-1])

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    monkeypatch.setattr(subprocess, "Popen", _Worker)
    _Worker.ports, _Worker.ready = [], set()
    # A running worker is ready (the probe would need its HTTP server).
    monkeypatch.setattr(supervisor_module, "_ready", lambda port: port in _Worker.ready)
    return Supervisor("bug_report", log_dir=tmp_path)


def test_a_worker_that_lost_its_port_is_started_again_on_another(workers: Supervisor) -> None:
    _Worker.outcomes = [(LOST, 1), (b"ready\n", None)]
    workers.start_one("sink", 0, 2)
    workers.wait_ready(timeout_s=5)
    first, second = _Worker.ports
    assert first != second and workers.ports["sink-0"] == second
    assert workers.starts["sink-0"].attempt == 2
    log = workers.log("sink-0")
    assert log is not None and log.read_bytes() == LOST + b"ready\n"


def test_a_worker_that_exits_for_another_reason_fails_the_start(workers: Supervisor) -> None:
    # An earlier start's lost port in the same log is not this start's reason.
    log = workers.log("sink-0")
    assert log is not None
    log.write_bytes(LOST)
    _Worker.outcomes = [(b"ValueError: no model bundle\n", 1)]
    workers.start_one("sink", 0, 2)
    with pytest.raises(RuntimeError, match="exited before it was ready"):
        workers.wait_ready(timeout_s=5)
    assert len(_Worker.ports) == 1


def test_a_port_lost_on_every_start_fails_after_the_last(workers: Supervisor) -> None:
    _Worker.outcomes = [(LOST, 1)] * START_ATTEMPTS
    workers.start_one("infer", 0, 1)
    with pytest.raises(RuntimeError, match="exited before it was ready"):
        workers.wait_ready(timeout_s=5)
    assert len(_Worker.ports) == START_ATTEMPTS
