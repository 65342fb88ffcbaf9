"""Loopback ports held from their choice until their server listens, and the signs of a port
lost all the same: for the embedded servers (stack/) and the Supervisor's workers alike. Apart
from inferstream.stack, whose package loads the servers' clients, so that a worker's process
(the CLI module that also runs the Supervisor) loads only sockets and paths for it."""

from __future__ import annotations

import errno
import socket
from pathlib import Path


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
    and its start is tried again on a new port (stack/processes.py
    start_on_free_ports; the Supervisor's workers too)."""

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
        raise OSError(errno.EADDRNOTAVAIL, "no free loopback port found")

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
