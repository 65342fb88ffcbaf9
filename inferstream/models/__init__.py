"""Model bundles, the torch-free MiniLM ONNX builder, ONNX Runtime sessions and the kNN index.

The names below load on first use (PEP 562): importing a submodule such as
``inferstream.models.media`` or ``inferstream.models.registry`` runs this file first, and
importing faiss, ONNX Runtime and tokenizers here made every CLI process pay for them (each
worker start, `inferstream up`, a publish) whether it used a model or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferstream.lazy import load

if TYPE_CHECKING:
    from inferstream.models.bundle import (
        MINILM_NAME,
        ModelBundle,
        ModelNotInstalledError,
        ensure_minilm_bundle,
        minilm_weights_dir,
    )
    from inferstream.models.embedder import PreparedBatch, SubBatch, TextEmbedder, plan_buckets
    from inferstream.models.index import SimilarityIndex
    from inferstream.models.minilm_onnx import build_minilm_onnx
    from inferstream.models.session import available_providers, make_session
    from inferstream.models.tokenizer import TextTokenizer

_HOMES = {
    "inferstream.models.bundle": (
        "MINILM_NAME",
        "ModelBundle",
        "ModelNotInstalledError",
        "ensure_minilm_bundle",
        "minilm_weights_dir",
    ),
    "inferstream.models.embedder": ("PreparedBatch", "SubBatch", "TextEmbedder", "plan_buckets"),
    "inferstream.models.index": ("SimilarityIndex",),
    "inferstream.models.minilm_onnx": ("build_minilm_onnx",),
    "inferstream.models.session": ("available_providers", "make_session"),
    "inferstream.models.tokenizer": ("TextTokenizer",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "MINILM_NAME",
    "ModelBundle",
    "ModelNotInstalledError",
    "PreparedBatch",
    "SimilarityIndex",
    "SubBatch",
    "TextEmbedder",
    "TextTokenizer",
    "available_providers",
    "build_minilm_onnx",
    "ensure_minilm_bundle",
    "make_session",
    "minilm_weights_dir",
    "plan_buckets",
]


def __getattr__(name: str) -> object:
    return load(__name__, _HOME, name)
