"""The embedded broker's start on the real Tansu binary (memory storage: no S3 needed): a port
taken between its choice and Tansu's bind (by a program that picked it by itself) costs a retry
on a new port, not the start; a held port does not stop Tansu itself."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from inferstream.ports import START_ATTEMPTS, PortHold, address_in_use
from inferstream.stack import tansu
from inferstream.stack.processes import StackError


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def _choices(monkeypatch: pytest.MonkeyPatch, taken: int, lose: int) -> list[int]:
    """PortHold.free hands out ``taken`` on its first ``lose`` calls (a port lost to another
    program between its choice and the bind), then free ports; returns the ports handed out."""
    handed: list[int] = []
    real_free = PortHold.free

    def free(self: PortHold, *, paired_offset: int | None = None) -> int:
        port = taken if len(handed) < lose else real_free(self, paired_offset=paired_offset)
        handed.append(port)
        return port

    monkeypatch.setattr(PortHold, "free", free)
    return handed


def test_a_port_taken_before_the_bind_is_retried_on_a_new_one(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _choices(monkeypatch, taken_port, lose=1)
    info = tansu.start_tansu(tmp_path)
    try:
        assert info.port == handed[-1] != taken_port and len(handed) == 2
        assert tansu.tansu_healthy(info)
        # Tansu exited on the taken port: the reason the start was retried.
        assert address_in_use((tmp_path / "logs" / "tansu.log").read_bytes())
    finally:
        tansu.stop_tansu(info.pid)


def test_a_port_taken_on_every_attempt_fails_after_the_last(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _choices(monkeypatch, taken_port, lose=START_ATTEMPTS)
    with pytest.raises(StackError, match="did not become ready"):
        tansu.start_tansu(tmp_path)
    assert handed == [taken_port] * START_ATTEMPTS


def test_a_restart_keeps_its_port_when_free_and_moves_when_it_is_taken(
    tmp_path: Path, taken_port: int
) -> None:
    with PortHold() as hold:
        previous = hold.free()
    info = tansu.start_tansu(tmp_path, previous)
    try:
        assert info.port == previous and tansu.tansu_healthy(info)
    finally:
        tansu.stop_tansu(info.pid)
    moved = tansu.start_tansu(tmp_path, taken_port)
    try:
        assert moved.port != taken_port and tansu.tansu_healthy(moved)
    finally:
        tansu.stop_tansu(moved.pid)
