"""The embedded S3's start on the real `weed` binary: a port taken between its choice and the
server's bind (another process's server, or a client connection's local port) costs a retry on
new ports, not the start."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from inferstream.stack import seaweed
from inferstream.stack.processes import StackError, free_port, port_is_free


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held by a listening socket (its +10000 gRPC pair free, as free_port would pick)."""
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


def test_a_port_taken_before_the_bind_is_retried_on_new_ports(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def choose(*, paired_offset: int | None = None) -> int:
        # The fourth port of the first attempt is the S3 listener's: hand out the taken one.
        calls.append(0)
        return taken_port if len(calls) == 4 else free_port(paired_offset=paired_offset)

    monkeypatch.setattr(seaweed, "free_port", choose)
    info = _start(tmp_path)
    try:
        assert info.s3_port != taken_port
        assert seaweed.seaweed_healthy(info)
        log = (tmp_path / "logs" / "seaweedfs.log").read_text()
        # weed refused the taken port (its own check before it starts, here), then started.
        assert f"port {taken_port} for S3" in log and "cannot be used" in log
        assert len(calls) == 10  # two attempts of five ports each
    finally:
        seaweed.stop_seaweed(info.pid)


def test_a_port_taken_on_every_attempt_fails_after_the_last(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def choose(*, paired_offset: int | None = None) -> int:
        calls.append(0)
        return taken_port if len(calls) % 5 == 4 else free_port(paired_offset=paired_offset)

    monkeypatch.setattr(seaweed, "free_port", choose)
    with pytest.raises(StackError, match="did not become ready"):
        _start(tmp_path)
    assert len(calls) == 5 * seaweed.START_ATTEMPTS
