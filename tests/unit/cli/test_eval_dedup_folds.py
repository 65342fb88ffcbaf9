"""`inferstream eval dedup` on a set with fewer duplicate groups than folds (a small set written
by `--from-feedback`, say): one line and exit 2, not a traceback from a fit that saw no report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPORTS = FIXTURES / "dedup_small.jsonl"
ONE_GROUP = [["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000003"]]


@pytest.mark.parametrize("folds", [[], ["--folds", "2"]])
def test_fewer_groups_than_folds_is_one_line(tmp_path: Path, folds: list[str]) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"duplicate_groups": ONE_GROUP}))
    plot = tmp_path / "pr.png"
    command = ["eval", "dedup", str(REPORTS), "--labels", str(labels), *folds, "--plot", str(plot)]
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    expected = folds[1] if folds else "5"
    assert f"1 duplicate groups, too few for {expected}-fold cross-validation" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not plot.exists()  # stopped before any work
