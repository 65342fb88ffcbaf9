"""The broker probe of subscribe/verify/publish: a refused address fails at once, a broker
that accepts connections but never answers fails after the probe's timeout; both in one line
with exit 2."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from inferstream.cli.reach import EXIT_UNREACHABLE, refused, require_kafka
from inferstream.settings import DATA_DIR_ENV, KafkaSettings


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung broker)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_address_is_named_with_its_reason() -> None:
    port = _closed_port()
    reason = refused(f"127.0.0.1:{port}", timeout_s=5.0)
    assert reason is not None
    assert f"127.0.0.1:{port}" in reason
    assert "refused" in reason.lower()


def test_one_listening_address_is_enough(silent_listener: int) -> None:
    servers = f"127.0.0.1:{_closed_port()},PLAINTEXT://127.0.0.1:{silent_listener}"
    assert refused(servers, timeout_s=5.0) is None


def test_an_address_it_cannot_parse_leaves_the_decision_to_the_metadata_request() -> None:
    assert refused("no-port-here", timeout_s=1.0) is None


def _settings(servers: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS", servers)
    return KafkaSettings.load()


def test_a_refused_broker_exits_2_without_waiting_for_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(f"127.0.0.1:{_closed_port()}", tmp_path, monkeypatch)
    started = time.monotonic()
    with pytest.raises(typer.Exit) as exited:
        require_kafka(settings, timeout_s=60.0)
    assert exited.value.exit_code == EXIT_UNREACHABLE
    assert time.monotonic() - started < 30.0  # far below the 60 s it was given
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Kafka broker" in lines[0]
    assert "inferstream up" in lines[0]


def test_a_broker_that_never_answers_exits_2_after_the_timeout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    silent_listener: int,
) -> None:
    settings = _settings(f"127.0.0.1:{silent_listener}", tmp_path, monkeypatch)
    started = time.monotonic()
    with pytest.raises(typer.Exit) as exited:
        require_kafka(settings, timeout_s=1.0)
    assert exited.value.exit_code == EXIT_UNREACHABLE
    assert time.monotonic() - started >= 1.0  # the metadata request waited its timeout
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Kafka broker" in lines[0]
