"""Fixtures for the model tests: the real packaged MiniLM, built into a temporary cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstream.models import ModelBundle, TextEmbedder, ensure_minilm_bundle, minilm_weights_dir


@pytest.fixture(scope="module")
def weights_dir() -> Path:
    return minilm_weights_dir()


@pytest.fixture(scope="module")
def minilm_bundle(tmp_path_factory: pytest.TempPathFactory) -> ModelBundle:
    # Built once per test module (about a second) from the packaged safetensors, never downloaded.
    return ensure_minilm_bundle(tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="module")
def embedder(minilm_bundle: ModelBundle) -> TextEmbedder:
    return TextEmbedder(minilm_bundle, providers=["CPUExecutionProvider"])
