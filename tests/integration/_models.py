"""Churn bundles for the model lifecycle tests: trained once on a small dataset, then written
under a name of the test's own, so tests sharing the session's registry never see each other's
versions (the version is the content hash; a different seed gives a different version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inferstream.models.tabular import METADATA_FILE
from inferstream.training import churn
from inferstream.training.bundle import write_bundle

ROWS = 3000


def train_churn(directory: Path, seed: int) -> tuple[bytes, dict[str, Any]]:
    """(graph bytes, metadata without name/version/graphs) of a small churn model."""
    report = churn.train(directory, rows=ROWS, seed=seed)
    metadata = json.loads((report.directory / METADATA_FILE).read_text())
    graph = (report.directory / "classifier.onnx").read_bytes()
    return graph, {k: v for k, v in metadata.items() if k not in ("name", "version", "graphs")}


def write_named(
    models_dir: Path, name: str, graph: bytes, metadata: dict[str, Any]
) -> tuple[str, Path]:
    """The bundle under ``models_dir/name/<version>/`` (LATEST points at it); (version, dir)."""
    return write_bundle(models_dir, name, {"classifier": graph}, metadata)
