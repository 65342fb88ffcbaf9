"""`down` reports only the servers it stopped: a data dir where nothing runs (never started,
or already down) stops nothing and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferstream.cli import app
from inferstream.stack import down


def test_down_with_nothing_running_stops_nothing(tmp_path: Path) -> None:
    assert down(tmp_path) == []


def test_down_command_says_nothing_was_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["down"])
    assert result.exit_code == 0, result.output
    assert "nothing was running" in result.output and "stopped:" not in result.output
