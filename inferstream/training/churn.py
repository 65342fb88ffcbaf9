"""The churn reference model: standardise -> logistic regression, exported with skl2onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from inferstream.monitor import reference
from inferstream.schemas import ChurnPayload
from inferstream.tasks.churn.features import FEATURE_NAMES, encode
from inferstream.tasks.churn.inferer import BUNDLE_NAME
from inferstream.training.bundle import write_bundle
from inferstream.training.common import TrainReport, export, max_abs_diff, run_onnx
from inferstream.training.datasets import churn_records

ROWS = 20_000
SEED = 4
THRESHOLD = 0.5


def features(payloads: list[dict[str, Any]]) -> npt.NDArray[np.float32]:
    return np.asarray([encode(ChurnPayload.model_validate(p)) for p in payloads], np.float32)


def fit(x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> Pipeline:
    model = Pipeline(
        [("scale", StandardScaler()), ("classifier", LogisticRegression(max_iter=2000))]
    )
    model.fit(x, y)
    return model


def train(models_dir: Path, rows: int = ROWS, seed: int = SEED) -> TrainReport:
    payloads, labels = churn_records(rows, seed)
    x, y = features(payloads), np.asarray(labels, dtype=np.int64)
    cut = int(0.8 * rows)
    model = fit(x[:cut], y[:cut])
    x_test, y_test = x[cut:], y[cut:]
    proba = model.predict_proba(x_test)[:, 1]
    predicted = (proba >= THRESHOLD).astype(int)
    graph = export(model, x)
    onnx_diff = max_abs_diff(
        run_onnx(graph, x_test[:1000])["probabilities"], model.predict_proba(x_test[:1000])
    )
    scaler: StandardScaler = model.named_steps["scale"]
    classifier: LogisticRegression = model.named_steps["classifier"]
    metrics = {
        "rows_train": cut,
        "rows_test": rows - cut,
        "churn_rate_test": round(float(y_test.mean()), 4),
        "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        "roc_auc": round(float(roc_auc_score(y_test, proba)), 4),
        "precision": round(float(precision_score(y_test, predicted)), 4),
        "recall": round(float(recall_score(y_test, predicted)), 4),
        "majority_class_accuracy": round(float(max(y_test.mean(), 1 - y_test.mean())), 4),
        "onnx_max_abs_diff": onnx_diff,
    }
    metadata = {
        "task": "churn",
        "algorithm": "StandardScaler + LogisticRegression (scikit-learn), ONNX via skl2onnx",
        "dataset": f"inferstream.training.datasets.churn_records(n={rows}, seed={seed})",
        "threshold": THRESHOLD,
        "preprocessing": {
            "feature_names": list(FEATURE_NAMES),
            "mean": [float(v) for v in scaler.mean_],
            "scale": [float(v) for v in scaler.scale_],
            "coef": [float(v) for v in classifier.coef_[0]],
            "intercept": float(classifier.intercept_[0]),
        },
        "metrics_held_out": metrics,
        # What the monitor compares live traffic with (drift as PSI): the held-out inputs
        # and the model's scores on them.
        "reference": reference.build(FEATURE_NAMES, x_test, proba).to_json(),
    }
    version, directory = write_bundle(models_dir, BUNDLE_NAME, {"classifier": graph}, metadata)
    return TrainReport("churn", BUNDLE_NAME, version, directory, metrics)
