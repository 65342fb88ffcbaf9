"""A tabular model bundle's version is its content: the same graphs and metadata rewrite the
same version, any change lands in a new directory and moves LATEST, and SHA256SUMS lists what
is on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from inferstream.models.tabular import LATEST_FILE, METADATA_FILE, SUMS_FILE
from inferstream.training.bundle import write_bundle

GRAPHS = {"model": b"graph bytes", "scaler": b"other graph"}
META = {"threshold": 0.5, "features": ["a", "b"]}


def test_the_same_content_rewrites_the_same_version(tmp_path: Path) -> None:
    version, directory = write_bundle(tmp_path, "churn", GRAPHS, META)
    again, _ = write_bundle(tmp_path, "churn", dict(reversed(GRAPHS.items())), dict(META))
    assert again == version and len(version) == 12
    assert directory == tmp_path / "churn" / version
    assert (tmp_path / "churn" / LATEST_FILE).read_text() == f"{version}\n"
    assert not list(tmp_path.rglob("*.tmp"))  # every file written by rename


def test_a_change_of_graph_or_metadata_is_a_new_version(tmp_path: Path) -> None:
    first, _ = write_bundle(tmp_path, "churn", GRAPHS, META)
    graph, _ = write_bundle(tmp_path, "churn", {**GRAPHS, "model": b"retrained"}, META)
    meta, _ = write_bundle(tmp_path, "churn", GRAPHS, {**META, "threshold": 0.6})
    assert len({first, graph, meta}) == 3
    assert (tmp_path / "churn" / LATEST_FILE).read_text().strip() == meta
    assert (tmp_path / "churn" / first / "model.onnx").read_bytes() == b"graph bytes"  # kept


def test_sums_and_metadata_describe_the_files(tmp_path: Path) -> None:
    version, directory = write_bundle(tmp_path, "churn", GRAPHS, META)
    sums = dict(
        reversed(line.split("  ")) for line in (directory / SUMS_FILE).read_text().splitlines()
    )
    assert sums == {
        f"{name}.onnx": hashlib.sha256((directory / f"{name}.onnx").read_bytes()).hexdigest()
        for name in GRAPHS
    }
    metadata = json.loads((directory / METADATA_FILE).read_text())
    assert (metadata["name"], metadata["version"], metadata["threshold"]) == ("churn", version, 0.5)
    assert metadata["graphs"]["scaler"]["sha256"] == sums["scaler.onnx"]
