"""A bad --examples file is a one-line error, exit 2, before any server starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PYTHON = [sys.executable, "-m", "inferstream"]


def test_a_bad_examples_file_is_a_one_line_error_before_any_server(tmp_path: Path) -> None:
    bad = tmp_path / "reports.jsonl"
    bad.write_text('{"title": ""}\nnot json\n')
    keep = tmp_path / "run"
    done = subprocess.run(
        [*PYTHON, "chaos", "--examples", str(bad), "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no valid bug report among 2 line(s)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not keep.exists()  # nothing started
