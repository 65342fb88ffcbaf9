"""Write a tabular model bundle (the layout inferstream.models.tabular reads).

The version is derived from the content (graph hashes and metadata), so retraining with the same
seed and data rewrites the same version, and a changed model lands in a new directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferstream.models.tabular import LATEST_FILE, METADATA_FILE, SUMS_FILE


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_bundle(
    models_dir: Path, name: str, graphs: Mapping[str, bytes], metadata: Mapping[str, Any]
) -> tuple[str, Path]:
    """Write graphs + metadata.json + SHA256SUMS, then point LATEST at them; (version, dir)."""
    sums = {graph: hashlib.sha256(data).hexdigest() for graph, data in sorted(graphs.items())}
    body = json.dumps(metadata, sort_keys=True, default=float).encode()
    digest = hashlib.sha256(body)
    for graph, sha in sums.items():
        digest.update(f"{graph}:{sha}".encode())
    version = digest.hexdigest()[:12]
    directory = Path(models_dir) / name / version
    directory.mkdir(parents=True, exist_ok=True)
    for graph, data in graphs.items():
        _write_atomic(directory / f"{graph}.onnx", data)
    full = {
        **metadata,
        "name": name,
        "version": version,
        "graphs": {g: {"file": f"{g}.onnx", "sha256": s} for g, s in sums.items()},
    }
    lines = "".join(f"{s}  {g}.onnx\n" for g, s in sums.items())
    _write_atomic(directory / SUMS_FILE, lines.encode())
    text = json.dumps(full, indent=2, sort_keys=True, default=float)
    _write_atomic(directory / METADATA_FILE, text.encode())
    _write_atomic(Path(models_dir) / name / LATEST_FILE, f"{version}\n".encode())
    return version, directory
