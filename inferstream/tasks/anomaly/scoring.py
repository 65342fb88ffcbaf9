"""Anomaly scoring (pure numpy): windowed features, robust z-scores and the final verdict.

Two detectors look at each observation:

- ``isolation_forest`` (an ONNX graph trained by ``inferstream models train anomaly``) sees the
  raw values and each value's deviation from its series' rolling mean in rolling standard
  deviations (the last ``WINDOW`` observations before it).
- ``robust_zscore`` (numpy, no graph) is the modified z-score of Iglewicz and Hoaglin:
  ``0.6745 * |x - median| / MAD`` over the same window, flagged above 6.0 (the textbook 3.5
  assumes i.i.d. data; on the windowed host metrics of the training generator it flagged about
  as many normal points as anomalies, 6.0 kept recall at 1.0 with precision about 0.9).

Each detector's score is compared with its own threshold; the reported detector is the one
whose score is furthest above (or closest below) its threshold, so ``is_anomaly`` is always
``score > threshold`` of the reported detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FEATURE_NAMES: tuple[str, ...] = ("cpu_util", "mem_util", "load_1m")
WINDOW = 32
MIN_HISTORY_STD = 2  # observations needed before rolling deviations mean anything
MIN_HISTORY_ROBUST = 8
ROBUST_Z_THRESHOLD = 6.0
EPS = 1e-9
MODEL_FEATURES: tuple[str, ...] = (
    *FEATURE_NAMES,
    *(f"{name}_rolling_z" for name in FEATURE_NAMES),
)


@dataclass(frozen=True)
class Verdict:
    score: float
    threshold: float
    is_anomaly: bool
    detector: str
    contributions: tuple[tuple[str, float], ...]


def model_input(values: Sequence[float], history: Sequence[Sequence[float]]) -> list[float]:
    """Raw values, then (x - rolling mean) / rolling std over the history (0 without one)."""
    x = np.asarray(values, dtype=np.float64)
    if len(history) < MIN_HISTORY_STD:
        z = np.zeros_like(x)
    else:
        h = np.asarray(history[-WINDOW:], dtype=np.float64)
        z = (x - h.mean(axis=0)) / np.maximum(h.std(axis=0), 1e-3)
    return [*map(float, x), *map(float, np.clip(z, -50.0, 50.0))]


def robust_z(
    values: Sequence[float], history: Sequence[Sequence[float]]
) -> npt.NDArray[np.float64]:
    """Per-feature modified z-scores (signed); zeros while the history is too short."""
    x = np.asarray(values, dtype=np.float64)
    if len(history) < MIN_HISTORY_ROBUST:
        return np.zeros_like(x)
    h = np.asarray(history[-WINDOW:], dtype=np.float64)
    median = np.median(h, axis=0)
    mad = np.median(np.abs(h - median), axis=0)
    return np.asarray(0.6745 * (x - median) / np.maximum(mad, 1e-3), dtype=np.float64)


def decide(
    forest_score: float,
    forest_threshold: float,
    rz: npt.NDArray[np.float64],
    top: int = 3,
) -> Verdict:
    robust = float(np.max(np.abs(rz))) if rz.size else 0.0
    forest_margin = forest_score / max(forest_threshold, EPS)
    robust_margin = robust / ROBUST_Z_THRESHOLD
    order = sorted(range(len(rz)), key=lambda j: (-abs(float(rz[j])), FEATURE_NAMES[j]))
    contributions = tuple(
        (FEATURE_NAMES[j], round(float(rz[j]), 6)) for j in order[:top] if rz[j] != 0
    )
    if robust_margin > forest_margin:
        return Verdict(
            robust, ROBUST_Z_THRESHOLD, robust > ROBUST_Z_THRESHOLD, "robust_zscore", contributions
        )
    return Verdict(
        forest_score,
        forest_threshold,
        forest_score > forest_threshold,
        "isolation_forest",
        contributions,
    )
