"""The query embedder for text search: the same MiniLM bundle as infer, loaded once, lazily."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from inferstream.models import ModelNotInstalledError, TextEmbedder, ensure_minilm_bundle
from inferstream.settings import WorkerSettings, data_dir

Embed = Callable[[str], npt.NDArray[np.float32]]


class ModelUnavailableError(RuntimeError):
    """The embedding model cannot be loaded (the weights package is not installed)."""


def default_models_dir() -> Path:
    return WorkerSettings.load().models_dir or data_dir() / "models"


class LazyEmbedder:
    """Builds (or reuses the cached) ONNX bundle on the first query, then embeds one text."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self._models_dir = models_dir
        self._embedder: TextEmbedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def _load(self) -> TextEmbedder:
        with self._lock:
            if self._embedder is None:
                directory = self._models_dir or default_models_dir()
                try:
                    self._embedder = TextEmbedder(ensure_minilm_bundle(directory))
                except ModelNotInstalledError as err:
                    raise ModelUnavailableError(str(err)) from err
            return self._embedder

    def __call__(self, text: str) -> npt.NDArray[np.float32]:
        embedder = self._embedder or self._load()
        vectors = embedder.embed([text])
        return np.asarray(vectors[0], dtype=np.float32)
