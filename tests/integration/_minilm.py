"""The MiniLM bundle for tests whose workers run on a fresh stack of their own.

A worker builds the ONNX bundle into its models dir when it is missing there (12-30 s of wall
time on the loaded CI machine; the short chaos run's two infer workers built it at once), and
a fresh stack's models dir is always empty. Built once per pytest process instead, under its
base temp dir, and shared: the bundle is versioned by its weights and builder, read-only once
written, and concurrent builders write byte-identical files atomically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstream.models import ensure_minilm_bundle


def minilm_models_dir(factory: pytest.TempPathFactory) -> Path:
    """A models dir holding the MiniLM bundle (for INFERSTREAM_WORKER_MODELS_DIR)."""
    directory = factory.getbasetemp() / "minilm-models"
    ensure_minilm_bundle(directory)
    return directory
