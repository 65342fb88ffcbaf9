"""`inferstream worker` with a task that is not installed: one line and exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_stage_of_an_unknown_task_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", "worker", "sink", "--task", "no_such_task"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "INFERSTREAM_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "no task 'no_such_task' installed" in result.stderr
    assert "bug_report" in result.stderr
    assert "Traceback" not in result.stderr
