"""A nearly full disk under the data dir is named: `up` refuses below the mark and warns below
twice it, and `status` shows the figures (the object store's notes:
tests/unit/storage/test_objectstore_disk_note.py). The checks are pure functions over (total,
free); the commands run with the usage reader (``free_space.read_usage``, the one I/O edge)
replaced, and start no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from _inprocess_cli import run_cli
from rich.console import Console
from typer.testing import CliRunner

from inferstream import free_space
from inferstream.cli import app, stack_cmds
from inferstream.free_space import (
    MIB,
    DiskUsage,
    assess,
    level_of,
    refuse_below,
    size,
)
from inferstream.settings.stack import StackSettings
from inferstream.stack import manager

GIB = 1024 * MIB
DEFAULTS = StackSettings(min_free_mib=2048, min_free_percent=2.0)


def test_the_mark_is_the_larger_of_bytes_and_percent() -> None:
    # 20 GiB disk: 2 % is 410 MiB, the 1 GiB floor wins; 1 TiB disk: 2 % (20.5 GiB) wins.
    assert refuse_below(20 * GIB, 1024, 2.0) == GIB
    assert refuse_below(1024 * GIB, 1024, 2.0) == int(1024 * GIB * 0.02)
    assert refuse_below(1024 * GIB, 0, 0.0) == 0


@pytest.mark.parametrize(
    ("free", "level"),
    [(GIB - 1, "too low"), (GIB, "low"), (2 * GIB - 1, "low"), (2 * GIB, "ok")],
)
def test_levels_around_the_mark_and_twice_it(free: int, level: str) -> None:
    assert level_of(DiskUsage(total=20 * GIB, free=free), GIB) == level


def test_both_floors_zero_turn_the_check_off() -> None:
    off = StackSettings(min_free_mib=0, min_free_percent=0.0)
    assert assess(Path("/d"), DiskUsage(total=GIB, free=0), off).level == "ok"


def test_messages_name_the_path_the_figures_and_the_settings() -> None:
    reading = assess(Path("/data"), DiskUsage(total=250 * GIB, free=800 * MIB), DEFAULTS)
    assert reading.level == "too low"
    assert reading.figures() == "800 MiB free of 250.0 GiB (0.3 %) on the filesystem of /data"
    refusal = reading.refusal()
    assert "at least 5.0 GiB" in refusal  # 2 % of 250 GiB beats the 2 GiB floor
    assert "INFERSTREAM_STACK_MIN_FREE_MIB=2048" in refusal
    assert "INFERSTREAM_STACK_MIN_FREE_PERCENT=2 %" in refusal
    assert size(3 * 1024 * GIB) == "3.0 TiB"


def _data_dir(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """The data dir, with the floors at their defaults whatever the environment says."""
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(path))
    for name in ("INFERSTREAM_STACK_MIN_FREE_MIB", "INFERSTREAM_STACK_MIN_FREE_PERCENT"):
        monkeypatch.delenv(name, raising=False)


def _usage(monkeypatch: pytest.MonkeyPatch, total: int, free: int) -> None:
    monkeypatch.setattr(free_space, "read_usage", lambda path: DiskUsage(total, free))


def _no_server_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("a server was started on a disk below the mark")

    for name in ("start_seaweed", "start_postgres", "start_tansu"):
        monkeypatch.setattr(manager, name, started)


def test_up_refuses_in_one_line_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _data_dir(monkeypatch, tmp_path / "data")
    _usage(monkeypatch, total=100 * GIB, free=700 * MIB)
    _no_server_starts(monkeypatch)
    outcome = run_cli(capsys, monkeypatch, "up")
    assert outcome.returncode == 1
    assert "Traceback" not in outcome.stderr
    assert outcome.stderr.startswith("error: not enough free disk space")
    assert f"700 MiB free of 100.0 GiB (0.7 %) on the filesystem of {tmp_path / 'data'}" in (
        " ".join(outcome.stderr.split())
    )
    assert not (tmp_path / "data" / "stack.json").exists()


def test_a_bad_setting_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INFERSTREAM_STACK_MIN_FREE_PERCENT", "150")
    _no_server_starts(monkeypatch)
    outcome = run_cli(capsys, monkeypatch, "up")
    assert outcome.returncode == 1 and "Traceback" not in outcome.stderr
    assert "INFERSTREAM_STACK_MIN_FREE_PERCENT" in outcome.stderr


@pytest.mark.parametrize(
    ("free", "cell", "line"),
    [
        (50 * GIB, "ok: 50.0 GiB free (50.0 %)", None),
        (3 * GIB, "low: 3.0 GiB free (3.0 %)", "low disk space: 3.0 GiB free of 100.0 GiB"),
        (GIB, "too low: 1.0 GiB free (1.0 %)", "not enough free disk space"),
    ],
)
def test_status_shows_the_data_dirs_free_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int, cell: str, line: str | None
) -> None:
    _data_dir(monkeypatch, tmp_path)
    _usage(monkeypatch, total=100 * GIB, free=free)
    # The table whole on one line a row: the module's console took its width when it was made
    # (by whichever test imported it first), so COLUMNS set here would come too late.
    monkeypatch.setattr(stack_cmds, "console", Console(width=250, soft_wrap=True))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1  # nothing runs in tmp_path
    row = next(text for text in result.output.splitlines() if "disk (data dir)" in text)
    assert str(tmp_path) in row and cell in row
    said = " ".join(result.output.split())
    if line is None:
        assert "disk space" not in said
    else:
        assert line in said and str(tmp_path) in said
