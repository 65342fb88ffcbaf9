"""`inferstream eval dedup` on a small labelled fixture: exact figures, the PNG, bad input.

The fixture's cosines (MiniLM-L6) sit well clear of the seed bands: the re-filed PNG crash
0.985, the password reset pair 0.893 (both duplicates under seed), the dark-mode pair 0.726
(only possible under seed, duplicate under hybrid), the near miss (PDF export vs PNG crash) 0.34.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _inprocess_cli import Outcome, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
REPORTS = FIXTURES / "dedup_small.jsonl"
LABELS = FIXTURES / "dedup_small.labels.json"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def _eval(models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferstream", "eval", "dedup", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "INFERSTREAM_WORKER_MODELS_DIR": str(models)},
    )


def _eval_here(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    models: Path,
    *args: str,
) -> Outcome:
    """The same command through the CLI's entry point in this process: the user-mistake tests
    check what it says, which needs no interpreter of its own (the figures test below has one)."""
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(models))
    return run_cli(capsys, monkeypatch, "eval", "dedup", *args)


def test_seed_and_hybrid_figures_on_the_fixture(models_dir: Path, tmp_path: Path) -> None:
    png = tmp_path / "pr.png"
    seed = _eval(
        models_dir,
        str(REPORTS),
        "--labels",
        str(LABELS),
        "--profile",
        "seed",
        "--folds",
        "3",
        "--plot",
        str(png),
    )
    assert seed.returncode == 0, seed.stderr
    lines = seed.stdout.splitlines()
    assert lines[0] == f"{REPORTS}: 8 valid reports, 0 invalid lines skipped"
    assert lines[1] == (
        "reports 8, duplicate groups 3, reports that are duplicates of an earlier one 3, "
        "near-miss pairs 1"
    )
    assert lines[3] == "profile seed 001 on the whole set (arrival order):"
    assert lines[4] == (
        "duplicate                    P 1.000  R 0.667  F1 0.800  link 1.000  (tp 2 fp 0 fn 1 tn 5)"
    )
    assert lines[5] == (
        "duplicate or possible        P 1.000  R 1.000  F1 1.000  link 1.000  (tp 3 fp 0 fn 0 tn 5)"
    )
    assert "near-miss pairs: the later report flagged (duplicate or possible) in 0 of 1" in lines[6]
    assert "  t=0.70                     P 1.000  R 1.000  F1 1.000" in seed.stdout
    assert "  t=0.75                     P 1.000  R 0.667  F1 0.800" in seed.stdout
    assert "cross-validation, 3 folds over duplicate groups" in seed.stdout
    assert "scoring cost per record (8 records" in seed.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    hybrid = _eval(
        models_dir, str(REPORTS), "--labels", str(LABELS), "--folds", "3", "--plot", str(png)
    )
    assert hybrid.returncode == 0, hybrid.stderr
    lines = hybrid.stdout.splitlines()
    assert lines[3].startswith("profile hybrid ")
    assert lines[4] == (
        "duplicate                    P 1.000  R 1.000  F1 1.000  link 1.000  (tp 3 fp 0 fn 0 tn 5)"
    )
    assert lines[6] == (
        "seed 001 beside              P 1.000  R 0.667  F1 0.800  link 1.000  (tp 2 fp 0 fn 1 tn 5)"
    )


@pytest.mark.parametrize(
    ("labels", "args", "message"),
    [
        ('{"duplicate_groups": []}', ["--profile", "nope"], "unknown dedup profile 'nope'"),
        ("{not json", [], "not valid JSON"),
        (
            '{"duplicate_groups": [["00000000-0000-4000-8000-000000000001", "x"]]}',
            [],
            "duplicate_groups[0] names x, not in the file",
        ),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    models_dir: Path,
    tmp_path: Path,
    labels: str,
    args: list[str],
    message: str,
) -> None:
    path = tmp_path / "labels.json"
    path.write_text(labels)
    result = _eval_here(capsys, monkeypatch, models_dir, str(REPORTS), "--labels", str(path), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_missing_file_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> None:
    args = ("/nonexistent/reports.jsonl", "--labels", str(LABELS))
    result = _eval_here(capsys, monkeypatch, models_dir, *args)
    assert result.returncode == 2
    assert "/nonexistent/reports.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
