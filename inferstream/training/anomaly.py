"""The anomaly reference model: an isolation forest over raw values and rolling deviations,
exported with skl2onnx; evaluated together with the numpy robust z-score on held-out series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import IsolationForest
from sklearn.metrics import f1_score, precision_score, recall_score

from inferstream.monitor import reference
from inferstream.tasks.anomaly.inferer import BUNDLE_NAME
from inferstream.tasks.anomaly.scoring import (
    FEATURE_NAMES,
    MODEL_FEATURES,
    WINDOW,
    decide,
    model_input,
    robust_z,
)
from inferstream.tasks.anomaly.state import SeriesWindows
from inferstream.training.bundle import write_bundle
from inferstream.training.common import TrainReport, export, max_abs_diff, run_onnx
from inferstream.training.datasets import Observation, metric_series

SERIES = 60
LENGTH = 400
SEED = 3
CONTAMINATION = 0.02
# The forest's size; exporting it to ONNX (skl2onnx) costs about the square of it (~1 CPU
# minute for 200), so tests that need a bundle but not its quality train a smaller one.
TREES = 200


def windowed(
    observations: list[Observation],
) -> tuple[npt.NDArray[np.float32], list[npt.NDArray[np.float64]], list[str]]:
    """Model inputs and robust z-scores of each observation, computed in stream order with the
    same window code the infer worker uses."""
    windows = SeriesWindows(WINDOW)
    rows: list[list[float]] = []
    zs: list[npt.NDArray[np.float64]] = []
    series: list[str] = []
    for t, obs in enumerate(observations):
        values = [obs.features[name] for name in FEATURE_NAMES]
        history = windows.before(obs.series_id, (0, t))
        rows.append(model_input(values, history))
        zs.append(robust_z(values, history))
        windows.add(obs.series_id, (0, t), values)
        series.append(obs.series_id)
    return np.asarray(rows, dtype=np.float32), zs, series


def train(
    models_dir: Path,
    seed: int = SEED,
    series_count: int = SERIES,
    length: int = LENGTH,
    trees: int = TREES,
) -> TrainReport:
    observations = list(metric_series(series_count, length, seed))
    x, zs, series = windowed(observations)
    y = np.asarray([o.anomalous for o in observations], dtype=np.int64)
    held_out = {f"host-{s:03d}/metrics" for s in range(int(0.8 * series_count), series_count)}
    test = np.asarray([s in held_out for s in series])
    forest = IsolationForest(
        n_estimators=trees, contamination=CONTAMINATION, random_state=seed
    ).fit(x[~test])
    threshold = float(-forest.offset_)
    graph = export(forest, x)
    onnx_decision = run_onnx(graph, x[test][:1000])["scores"].reshape(-1)
    onnx_diff = max_abs_diff(onnx_decision, forest.decision_function(x[test][:1000]))
    forest_scores = -forest.score_samples(x[test])
    verdicts = [
        decide(float(s), threshold, z)
        for s, z in zip(forest_scores, np.asarray(zs, dtype=object)[test], strict=True)
    ]
    truth = y[test]
    combined = np.asarray([v.is_anomaly for v in verdicts], dtype=np.int64)
    forest_only = (forest_scores > threshold).astype(np.int64)
    metrics: dict[str, Any] = {
        "observations_train": int((~test).sum()),
        "observations_test": int(test.sum()),
        "anomaly_rate_test": round(float(truth.mean()), 4),
    }
    for name, predicted in (("combined", combined), ("isolation_forest_only", forest_only)):
        metrics[name] = {
            "precision": round(float(precision_score(truth, predicted, zero_division=0)), 4),
            "recall": round(float(recall_score(truth, predicted, zero_division=0)), 4),
            "f1": round(float(f1_score(truth, predicted, zero_division=0)), 4),
        }
    metrics["onnx_max_abs_diff"] = onnx_diff
    metadata = {
        "task": "anomaly",
        "algorithm": f"IsolationForest({trees} trees) via skl2onnx + modified z-score (numpy)",
        "dataset": (
            f"inferstream.training.datasets.metric_series({series_count}, {length}, seed={seed})"
        ),
        "threshold": threshold,
        "window": WINDOW,
        "preprocessing": {"feature_names": list(MODEL_FEATURES), "offset": float(forest.offset_)},
        "metrics_held_out": metrics,
        # What the monitor compares live traffic with (drift as PSI): the held-out series'
        # raw values (enrich's "values") and the scores the results carry.
        "reference": reference.build(
            FEATURE_NAMES,
            np.asarray([[o.features[n] for n in FEATURE_NAMES] for o in observations])[test],
            [v.score for v in verdicts],
        ).to_json(),
    }
    version, directory = write_bundle(models_dir, BUNDLE_NAME, {"forest": graph}, metadata)
    return TrainReport("anomaly", BUNDLE_NAME, version, directory, metrics)
