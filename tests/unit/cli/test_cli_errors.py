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


def test_a_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    path.write_bytes(b'{"title": "caf\xe9"}\n')  # Latin-1, as a spreadsheet might save it
    result = _run("publish", "bug_report", str(path), env={"INFERSTREAM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert f"{path}:1: not UTF-8 text" in result.stderr
    assert "nothing was published" in result.stderr
    assert "Traceback" not in result.stderr


def _unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_broker_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A data dir without a stack and a closed port: librdkafka would otherwise log a line per
    # retry for ever (subscribe), for 60 s before "not acknowledged" (publish), or verify
    # would raise a KafkaException traceback.
    env = {
        "INFERSTREAM_DATA_DIR": str(tmp_path),
        "INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_unused_port()}",
    }
    valid = tmp_path / "reports.jsonl"
    valid.write_text('{"title": "t", "description": "d", "product": "p"}\n')
    for command in (
        ("subscribe", "bug_report", "--max", "1"),
        ("verify", "--task", "churn"),
        ("publish", "bug_report", str(valid)),
    ):
        result = _run(*command, env=env)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (command, result.stderr)
        assert "cannot reach the Kafka broker" in lines[0]
        assert "inferstream up" in lines[0]


def _publish_offline(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "INFERSTREAM_DATA_DIR": str(tmp_path),
        "INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_unused_port()}",
    }
    return _run("publish", "bug_report", str(path), env=env)


GOOD_LINE = b'{"title": "Crash", "description": "Saving crashes the editor.", "product": "notes"}\n'


def test_not_utf8_far_into_a_file_names_its_line_and_byte(tmp_path: Path) -> None:
    # A decoding reader's error counts the bytes of its 8 KiB buffer, not of the file: the
    # message said "at byte 5862" for a bad byte at 55,014 on line 501, and named no line.
    path = tmp_path / "reports.jsonl"
    bad = b'{"title": "caf\xe9"}\n'
    data = GOOD_LINE * 500 + bad
    path.write_bytes(data)
    result = _publish_offline(tmp_path, path)
    assert result.returncode == 2
    at = data.index(b"\xe9")
    assert result.stderr.strip() == (
        f"{path}:501: not UTF-8 text (invalid continuation byte at byte {at}, column 15); "
        "nothing was published"
    )


def test_a_byte_order_mark_is_utf8_not_an_invalid_record(tmp_path: Path) -> None:
    # Excel's and Notepad's "UTF-8" start with EF BB BF: the first JSON line was "not valid
    # JSON", the first CSV column "\ufefftitle". Both files are valid: publish goes on to the
    # broker (none here).
    jsonl, csv = tmp_path / "bom.jsonl", tmp_path / "bom.csv"
    jsonl.write_bytes(b"\xef\xbb\xbf" + GOOD_LINE)
    csv.write_bytes(b"\xef\xbb\xbftitle,description,product\nCrash,Saving crashes it.,notes\n")
    for path in (jsonl, csv):
        result = _publish_offline(tmp_path, path)
        assert result.returncode == 2, result.stderr
        assert "invalid" not in result.stderr, result.stderr
        assert "cannot reach the Kafka broker" in result.stderr


def test_an_empty_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    path.write_text("\n\n")
    result = _publish_offline(tmp_path, path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}: no records; nothing was published"


def test_a_directory_for_a_records_file_is_one_line(tmp_path: Path) -> None:
    result = _publish_offline(tmp_path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path}: Is a directory"
