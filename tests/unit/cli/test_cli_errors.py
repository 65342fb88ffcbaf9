"""User mistakes end in a one-line message and an exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "inferstream"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_unknown_task(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("{}\n")
    result = _run("publish", "no_such_task", str(path))
    assert result.returncode == 1
    assert "unknown task" in result.stderr.lower()
    assert "bug_report" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file() -> None:
    result = _run("publish", "bug_report", "/nonexistent/reports.jsonl")
    assert result.returncode == 1
    assert "/nonexistent/reports.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"title": "t", "description": "d", "product": "p"}\n')
    result = _run(
        "publish",
        "bug_report",
        str(path),
        env={"INFERSTREAM_KAFKA_SECURITY_PROTOCOL": "TLS", "INFERSTREAM_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "INFERSTREAM_KAFKA_SECURITY_PROTOCOL" in result.stderr
    assert "Traceback" not in result.stderr


def test_schemas_are_current_via_cli() -> None:
    result = _run("schemas", "export", "--check")
    assert result.returncode == 0, result.stdout
    assert "current" in result.stdout
