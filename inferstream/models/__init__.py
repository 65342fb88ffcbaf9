"""Model bundles, the torch-free MiniLM ONNX builder, ONNX Runtime sessions and the kNN index."""

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
