"""`down` reports only the servers it stopped: a data dir where nothing runs (never started,
or already down) stops nothing and says so. It keeps the servers' ports (not their pids) for the
next `up`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferstream.cli import app
from inferstream.stack import down
from inferstream.stack.servers import SeaweedInfo, TansuInfo
from inferstream.stack.state import BUCKET, STATE_FILE, StackState, credentials


def test_down_with_nothing_running_stops_nothing(tmp_path: Path) -> None:
    assert down(tmp_path) == []


def test_down_command_says_nothing_was_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["down"])
    assert result.exit_code == 0, result.output
    assert "nothing was running" in result.output and "stopped:" not in result.output


def test_down_keeps_the_recorded_ports_and_no_pid(tmp_path: Path) -> None:
    """The servers recorded here are not running (pids of no such process): down stops nothing
    and leaves their ports, without the pids, for the next `up`."""
    creds = credentials(tmp_path)
    StackState(
        tmp_path,
        tansu=TansuInfo(pid=2**22 + 1, port=19092, storage="s3"),
        seaweed=SeaweedInfo(2**22 + 2, 8333, creds["access_key"], creds["secret_key"], BUCKET),
    ).save()
    assert down(tmp_path) == []
    doc = json.loads((tmp_path / STATE_FILE).read_text())
    assert doc == {
        "tansu": None,
        "postgres": None,
        "seaweed": None,
        "ports": {"kafka": 19092, "s3": 8333},
    }
    assert down(tmp_path) == []  # a second down keeps them too
    assert StackState.load(tmp_path).ports() == {"kafka": 19092, "s3": 8333}


def test_down_with_no_record_writes_none(tmp_path: Path) -> None:
    down(tmp_path)
    assert not (tmp_path / STATE_FILE).exists()
