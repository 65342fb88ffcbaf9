"""The embedded S3's start on the real `weed` binary: its ports are held until it listens on
every one, and a port taken between its choice and the server's bind all the same (by a program
that picked it by itself) costs a retry on new ports, not the start."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inferstream.ports import START_ATTEMPTS, PortHold, listening_ports
from inferstream.stack import seaweed
from inferstream.stack.processes import StackError, port_is_free


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held by a listening socket (its +10000 gRPC pair free, as PortHold.free would
    pick)."""
    for _ in range(200):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        port = int(server.getsockname()[1])
        if port + 10000 <= 65535 and port_is_free(port + 10000):
            server.listen()
            try:
                yield port
            finally:
                server.close()
            return
        server.close()
    pytest.fail("no port with a free +10000 pair")


def _start(data_dir: Path) -> seaweed.SeaweedInfo:
    return seaweed.start_seaweed(
        data_dir, access_key="ak", secret_key="sk-secret", bucket="retry-test"
    )


def _choices(monkeypatch: pytest.MonkeyPatch, taken: int, lost: Callable[[int], bool]) -> list[int]:
    """PortHold.free hands out ``taken`` at the calls (numbered from 1) where ``lost`` holds,
    free ports otherwise; returns the ports handed out."""
    handed: list[int] = []
    real_free = PortHold.free

    def free(self: PortHold, *, paired_offset: int | None = None) -> int:
        n = len(handed) + 1
        port = taken if lost(n) else real_free(self, paired_offset=paired_offset)
        handed.append(port)
        return port

    monkeypatch.setattr(PortHold, "free", free)
    return handed


def test_a_port_taken_before_the_bind_is_retried_on_new_ports(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fourth port of the first attempt is the S3 listener's: hand out the taken one.
    handed = _choices(monkeypatch, taken_port, lambda n: n == 4)
    info = _start(tmp_path)
    try:
        assert info.s3_port != taken_port
        assert seaweed.seaweed_healthy(info)
        log = (tmp_path / "logs" / "seaweedfs.log").read_text()
        # weed refused the taken port (its own check before it starts, here), then started.
        assert f"port {taken_port} for S3" in log and "cannot be used" in log
        assert len(handed) == 10  # two attempts of five ports each
        # Held until weed listened on every one of the second attempt's ten ports: weed binds
        # held ports (SO_REUSEADDR), and the start waited for the last listener (admin's).
        ports = handed[5:]
        assert {p + o for p in ports for o in (0, seaweed.GRPC_OFFSET)} <= listening_ports()
    finally:
        seaweed.stop_seaweed(info.pid)


def test_a_port_taken_on_every_attempt_fails_after_the_last(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _choices(monkeypatch, taken_port, lambda n: n % 5 == 4)
    with pytest.raises(StackError, match="did not become ready"):
        _start(tmp_path)
    assert len(handed) == 5 * START_ATTEMPTS
