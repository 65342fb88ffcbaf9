"""Shared training helpers: ONNX export with skl2onnx and the ONNX-vs-scikit-learn check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from skl2onnx import to_onnx

from inferstream.models.tabular import run_graph

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class TrainReport:
    task: str
    name: str
    version: str
    directory: Path
    metrics: dict[str, Any] = field(default_factory=dict)


def export(model: Any, sample: npt.NDArray[np.float32], zipmap: bool = False) -> bytes:
    """The fitted estimator as ONNX bytes (classifiers: a plain probabilities tensor)."""
    options = {id(model): {"zipmap": False}} if not zipmap and hasattr(model, "classes_") else None
    onnx_model = to_onnx(model, sample[:1], options=options, target_opset=TARGET_OPSET)
    data: bytes = onnx_model.SerializeToString()
    return data


def run_onnx(graph: bytes, x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[Any]]:
    return run_graph(graph, x)


def max_abs_diff(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, np.float64))))
