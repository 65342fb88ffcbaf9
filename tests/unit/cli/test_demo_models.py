"""`inferstream demo` trains the missing reference bundles before starting anything, or says in
one line that it cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer

from inferstream.cli.demo_models import BUNDLES, ensure_reference_models, missing_bundles
from inferstream.cli.demo_tasks import TASKS


def test_every_demo_task_has_a_bundle_name() -> None:
    assert set(TASKS) <= set(BUNDLES)


def test_missing_bundles_are_trained(tmp_path: Path) -> None:
    assert missing_bundles(tmp_path, TASKS) == list(TASKS)
    ensure_reference_models(("churn",), tmp_path)
    assert missing_bundles(tmp_path, TASKS) == ["target_risk", "anomaly", "media"]
    assert (tmp_path / BUNDLES["churn"] / "LATEST").is_file()


def test_a_damaged_bundle_counts_as_missing(tmp_path: Path) -> None:
    ensure_reference_models(("churn",), tmp_path)
    root = tmp_path / BUNDLES["churn"]
    version = (root / "LATEST").read_text().strip()
    graph = next((root / version).glob("*.onnx"))
    graph.write_bytes(graph.read_bytes() + b"\0")
    assert missing_bundles(tmp_path, ("churn",)) == ["churn"]


def test_without_the_training_extra_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules makes the import fail as if scikit-learn/skl2onnx were not installed.
    monkeypatch.setitem(sys.modules, "inferstream.training.registry", None)
    with pytest.raises(typer.Exit) as exit_info:
        ensure_reference_models(("anomaly", "churn"), tmp_path)
    assert exit_info.value.exit_code == 1
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1, out
    assert "anomaly, churn" in out and "make models" in out
