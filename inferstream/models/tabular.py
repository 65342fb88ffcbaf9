"""Tabular model bundles: one or more small ONNX graphs plus preprocessing metadata.

A bundle lives in ``<models_dir>/<name>/<version>/``: the graphs (``<graph>.onnx``),
``metadata.json`` (feature names, preprocessing constants, thresholds, held-out metrics and the
sha256 of every graph) and ``SHA256SUMS``. ``<models_dir>/<name>/LATEST`` names the version to
serve; it is written last, so a half-written bundle is never picked up. Bundles are built by
``inferstream models train`` (inferstream.training); serving only reads them, through ONNX
Runtime, and refuses a graph whose bytes no longer match the recorded sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.models.session import make_session

METADATA_FILE = "metadata.json"
LATEST_FILE = "LATEST"
SUMS_FILE = "SHA256SUMS"


class BundleNotBuiltError(RuntimeError):
    """The bundle is missing or damaged; the message names the command that builds it."""


@dataclass(frozen=True)
class TabularBundle:
    name: str
    version: str
    directory: Path
    graphs: Mapping[str, Path]
    metadata: Mapping[str, Any]

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        value = self.metadata.get("preprocessing", {})
        return value if isinstance(value, Mapping) else {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tabular_bundle(models_dir: Path, name: str, task: str) -> TabularBundle:
    """The bundle ``LATEST`` points at, every graph checked against its recorded sha256."""
    hint = f"run `inferstream models train {task}` (or `make demo`)"
    root = Path(models_dir) / name
    try:
        version = (root / LATEST_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        raise BundleNotBuiltError(f"model bundle {name!r} not built under {root}: {hint}") from None
    return read_bundle_dir(root / version, name, version, hint)


def read_bundle_dir(directory: Path, name: str, version: str, hint: str) -> TabularBundle:
    """The bundle in ``directory``, every graph checked against its recorded sha256 and the
    metadata checked to name ``name``/``version``; BundleNotBuiltError (ending in ``hint``)."""
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
        graphs: dict[str, Path] = {}
        for graph, entry in metadata["graphs"].items():
            path = directory / str(entry["file"])
            if _sha256(path) != entry["sha256"]:
                raise BundleNotBuiltError(
                    f"model bundle {name}/{version}: {path.name} does not match its sha256; {hint}"
                )
            graphs[str(graph)] = path
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise BundleNotBuiltError(
            f"model bundle {name}/{version} is incomplete ({err}); {hint}"
        ) from None
    if metadata.get("name") != name or metadata.get("version") != version:
        raise BundleNotBuiltError(f"model bundle {name}/{version}: metadata names another; {hint}")
    return TabularBundle(name, version, directory, graphs, metadata)


class TabularModel:
    """ONNX Runtime sessions over a bundle's graphs; float32 matrix in, named outputs out."""

    def __init__(self, bundle: TabularBundle, intra_op_threads: int = 1) -> None:
        self.bundle = bundle
        self.name = bundle.name
        self.version = bundle.version
        self._sessions = {
            graph: make_session(path, intra_op_threads=intra_op_threads)
            for graph, path in bundle.graphs.items()
        }
        self.providers = [
            str(p) for s in self._sessions.values() for p in s.get_providers()[:1]
        ] or ["CPUExecutionProvider"]

    def run(self, graph: str, features: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[Any]]:
        session = self._sessions[graph]
        inputs = {session.get_inputs()[0].name: np.ascontiguousarray(features, dtype=np.float32)}
        names = [o.name for o in session.get_outputs()]
        outputs = session.run(names, inputs)
        return {n: np.asarray(v) for n, v in zip(names, outputs, strict=True)}


def run_graph(graph: bytes, features: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[Any]]:
    """Run serialized ONNX bytes once on the CPU (used to check an export before writing it)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 3  # skl2onnx multi-label graphs trip a harmless shape warning
    session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    inputs = {session.get_inputs()[0].name: np.ascontiguousarray(features, dtype=np.float32)}
    return {n: np.asarray(v) for n, v in zip(names, session.run(names, inputs), strict=True)}
