"""Held loopback ports (PortHold): from a port's choice until its server listens, no other
process's bind, bind(0) or held port can take it, while the server it is held for binds it.
The workers' ports (the Supervisor's) are held the same way: a stack server's port pair must
never be one of them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inferstream import ports
from inferstream.ports import TIME_WAIT, PortHold, address_in_use, listening_ports, tcp_ports
from inferstream.stack.processes import wait_until


def _plain_bind(port: int) -> bool:
    """Whether a bind without SO_REUSEADDR (the strictest check) succeeds on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        try:
            other.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def worker_port() -> Iterator[int]:
    """A port held as the Supervisor holds a worker's metrics port before the worker binds."""
    with PortHold() as hold:
        yield hold.free()


def test_a_held_port_is_refused_to_others_and_bound_by_its_server() -> None:
    with PortHold() as hold:
        port = hold.free(paired_offset=1)
        assert not _plain_bind(port) and not _plain_bind(port + 1)
        server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
        try:
            assert server.server_port == port and port in listening_ports()
        finally:
            server.server_close()
    assert _plain_bind(port) and _plain_bind(port + 1)  # released


def test_a_server_that_binds_another_held_port_makes_its_owner_fail(worker_port: int) -> None:
    """What a held port cannot stop, and why no stack port may be chosen by a check with
    SO_REUSEADDR: such a check finds a held port free, the server (SO_REUSEADDR too) binds and
    listens on it, and the worker it was held for then exits on EADDRINUSE."""
    intruder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    intruder.bind(("127.0.0.1", worker_port))
    intruder.listen()
    try:
        with pytest.raises(OSError, match="Address already in use") as lost:
            ThreadingHTTPServer(("127.0.0.1", worker_port), BaseHTTPRequestHandler)
        assert address_in_use(str(lost.value).encode())
    finally:
        intruder.close()


def test_a_paired_port_is_never_another_held_port(
    worker_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """weed's gRPC port is its http port + 10000: the pair is checked strictly. The kernel's
    first choice is made to pair with the worker's held port: it is skipped."""
    first = next(p for p in range(worker_port - 1, 1023, -1) if _plain_bind(p))
    offset = worker_port - first
    real_bind = ports._bind
    choices = iter([first])

    def kernel_choice(port: int, *, reuse: bool) -> socket.socket | None:
        return real_bind(next(choices, 0) if port == 0 else port, reuse=reuse)

    monkeypatch.setattr(ports, "_bind", kernel_choice)
    with PortHold() as hold:
        port = hold.free(paired_offset=offset)
        assert port != first and port + offset != worker_port
    assert not _plain_bind(worker_port)  # the worker's port is still held


def test_keep_holds_a_previous_port_unless_a_server_listens() -> None:
    with PortHold() as hold:
        port = hold.free()
    with PortHold() as hold:
        assert hold.keep(port) and not _plain_bind(port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        with PortHold() as hold:
            assert not hold.keep(port)


def test_keep_takes_a_port_left_in_time_wait_but_not_another_held_one(worker_port: int) -> None:
    """A stopped server's port keeps its closed connections in TIME_WAIT (the server closed
    first): it is kept all the same. A port another process holds (no TIME_WAIT there) is not."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = int(server.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first: its socket ends in TIME_WAIT
    assert client.recv(1) == b""
    client.close()
    server.close()
    assert wait_until(lambda: port in tcp_ports(TIME_WAIT), 5.0, 0.01)
    assert not _plain_bind(port)
    with PortHold() as hold:
        assert hold.keep(port)
    with PortHold() as hold:
        assert not hold.keep(worker_port)


def test_the_bind_errors_of_go_rust_and_python_count_as_a_lost_port() -> None:
    assert address_in_use(b"listen tcp 127.0.0.1:8333: bind: address already in use")
    tansu = b'broker: 138: err=Io(Os { code: 98, kind: AddrInUse, message: "Address in use" })'
    assert address_in_use(tansu)
    assert address_in_use(b"OSError: [Errno 98] Address already in use\n")
    assert not address_in_use(b"connection refused")
