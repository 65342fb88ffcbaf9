"""`inferstream demo` trains the missing reference bundles before starting anything, or says in
one line that it cannot."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import typer

from inferstream.cli.demo_models import BUNDLES, ensure_reference_models, missing_bundles
from inferstream.cli.demo_tasks import TASKS


def test_every_demo_task_has_a_bundle_name() -> None:
    assert set(TASKS) <= set(BUNDLES)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models dir where the demo trained churn's bundle: once for the module (a 20,000-row
    training); the test that damages it works on a copy."""
    directory = tmp_path_factory.mktemp("demo-models")
    assert missing_bundles(directory, TASKS) == list(TASKS)
    ensure_reference_models(("churn",), directory)
    return directory


def test_missing_bundles_are_trained(trained: Path) -> None:
    assert missing_bundles(trained, TASKS) == ["target_risk", "anomaly", "media"]
    assert (trained / BUNDLES["churn"] / "LATEST").is_file()


def test_a_damaged_bundle_counts_as_missing(trained: Path, tmp_path: Path) -> None:
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    assert missing_bundles(tmp_path, ("churn",)) == []  # the copy is sound before the damage
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
