"""Checks a tabular bundle must pass before the registry stores it and again before a worker
serves it: the files match ``SHA256SUMS`` and the metadata, the graphs load, and a smoke
inference on a small batch gives finite outputs of the batch's length.

A bundle that fails any check raises BadBundleError with a one-line reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inferstream.models.tabular import (
    METADATA_FILE,
    SUMS_FILE,
    BundleNotBuiltError,
    TabularBundle,
    TabularModel,
    read_bundle_dir,
)

SMOKE_ROWS = 4


class BadBundleError(ValueError):
    """The bundle is damaged, does not load or fails its smoke inference."""


@dataclass(frozen=True)
class LocalBundle:
    """A bundle directory that passed every check: what the registry records of it."""

    name: str
    version: str
    directory: Path
    files: dict[str, str]  # file name -> sha256, metadata.json and SHA256SUMS included
    sums_sha256: str  # the bundle's identity: sha256 of its SHA256SUMS file
    metadata: dict[str, Any]


def parse_sums(text: str) -> dict[str, str]:
    """``sha256  file`` lines (the sha256sum format) -> {file: sha256}."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name or "/" in name or name in sums:
            raise BadBundleError(f"{SUMS_FILE}: malformed line {line[:80]!r}")
        sums[name] = digest
    return sums


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_bundle(directory: Path) -> LocalBundle:
    """Every check, in order: checksums, metadata, load, smoke inference."""
    directory = Path(directory)
    try:
        sums_bytes = (directory / SUMS_FILE).read_bytes()
        metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BadBundleError(f"{directory}: not a model bundle ({err})") from None
    if not isinstance(metadata, dict):
        raise BadBundleError(f"{directory}/{METADATA_FILE}: not a JSON object")
    sums = parse_sums(sums_bytes.decode(errors="replace"))
    for name, digest in sums.items():
        path = directory / name
        if not path.is_file() or _sha256(path) != digest:
            raise BadBundleError(f"{directory}: {name} does not match {SUMS_FILE}")
    name, version = str(metadata.get("name", "")), str(metadata.get("version", ""))
    if not name or not version:
        raise BadBundleError(f"{directory}/{METADATA_FILE}: no name or version")
    graphs = metadata.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise BadBundleError(f"{name}/{version}: metadata lists no graphs")
    for entry in graphs.values():
        if not isinstance(entry, dict) or sums.get(str(entry.get("file"))) != entry.get("sha256"):
            raise BadBundleError(f"{name}/{version}: a graph is missing from {SUMS_FILE}")
    smoke(load_checked(directory, name, version))
    files = {**sums, METADATA_FILE: _sha256(directory / METADATA_FILE), SUMS_FILE: ""}
    files[SUMS_FILE] = hashlib.sha256(sums_bytes).hexdigest()
    return LocalBundle(name, version, directory, files, files[SUMS_FILE], metadata)


def load_checked(directory: Path, name: str, version: str) -> TabularBundle:
    try:
        return read_bundle_dir(directory, name, version, "register a sound bundle")
    except BundleNotBuiltError as err:
        raise BadBundleError(str(err)) from None


def feature_count(bundle: TabularBundle) -> int:
    names = bundle.preprocessing.get("feature_names")
    if isinstance(names, list) and names:
        return len(names)
    raise BadBundleError(f"{bundle.name}/{bundle.version}: metadata has no feature_names")


def smoke(bundle: TabularBundle) -> TabularModel:
    """Load every graph and run it on a small batch of zeros (standardised features' mean
    neighbourhood); the outputs must have one row per input and be finite."""
    x = np.zeros((SMOKE_ROWS, feature_count(bundle)), dtype=np.float32)
    try:
        model = TabularModel(bundle)
        for graph in bundle.graphs:
            for output, value in model.run(graph, x).items():
                rows = value.shape[0] if value.ndim else 0
                numeric = value.dtype.kind in "fiub"
                if rows != SMOKE_ROWS or (numeric and not np.isfinite(value).all()):
                    raise BadBundleError(
                        f"{bundle.name}/{bundle.version}: smoke inference gave a bad {output!r}"
                    )
    except BadBundleError:
        raise
    except Exception as err:  # onnxruntime raises its own types for unloadable graphs
        msg = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        where = f"{bundle.name}/{bundle.version}"
        raise BadBundleError(f"{where}: does not load or run: {msg}") from None
    return model
