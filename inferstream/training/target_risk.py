"""The target_risk reference model: three heads as in seed 000 (BugPredict AI), each a
logistic model exported with skl2onnx:

- ``vulnerability_predictor``: multi-label, one probability per vulnerability class;
- ``severity_predictor``: low / medium / high / critical;
- ``chain_detector``: multi-label, one probability per attack chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.multiclass import OneVsRestClassifier

from inferstream.monitor import reference
from inferstream.schemas import TargetRiskPayload
from inferstream.tasks.target_risk.features import FEATURE_NAMES, encode
from inferstream.tasks.target_risk.risk import (
    BUNDLE_NAME,
    HEADS,
    named_probabilities,
    named_risk_score,
)
from inferstream.training.bundle import write_bundle
from inferstream.training.common import TrainReport, export, max_abs_diff, run_onnx
from inferstream.training.datasets import (
    CHAINS,
    SEVERITY_LEVELS,
    VULNERABILITY_CLASSES,
    target_records,
)

ROWS = 20_000
SEED = 0


def features(payloads: list[dict[str, Any]]) -> npt.NDArray[np.float32]:
    return np.asarray([encode(TargetRiskPayload.model_validate(p)) for p in payloads], np.float32)


def head_model(head: str) -> Any:
    """One-vs-rest logistic regressions for the multi-label heads, multinomial for severity."""
    if head == "severity_predictor":
        return LogisticRegression(max_iter=2000)
    return OneVsRestClassifier(LogisticRegression(max_iter=2000))


def risk_scores(proba: dict[str, Any], labels: dict[str, list[str]]) -> list[float]:
    """Each row's risk_score from the heads' probabilities, as the inferer computes it."""
    rows = len(proba[HEADS[0]])
    return [named_risk_score(named_probabilities(labels, proba, i)) for i in range(rows)]


def train(models_dir: Path, rows: int = ROWS, seed: int = SEED) -> TrainReport:
    payloads, labels = target_records(rows, seed)
    x = features(payloads)
    y = {
        "vulnerability_predictor": np.asarray([t.vulnerabilities for t in labels], np.int64),
        "severity_predictor": np.asarray([t.severity for t in labels], np.int64),
        "chain_detector": np.asarray([t.chains for t in labels], np.int64),
    }
    cut = int(0.8 * rows)
    graphs: dict[str, bytes] = {}
    metrics: dict[str, Any] = {"rows_train": cut, "rows_test": rows - cut}
    diffs: list[float] = []
    held_out: dict[str, Any] = {}
    for head in HEADS:
        model = head_model(head).fit(x[:cut], y[head][:cut])
        graphs[head] = export(model, x)
        proba = held_out[head] = model.predict_proba(x[cut:])
        onnx_proba = run_onnx(graphs[head], x[cut : cut + 1000])["probabilities"]
        diffs.append(max_abs_diff(onnx_proba, model.predict_proba(x[cut : cut + 1000])))
        truth = y[head][cut:]
        if head == "severity_predictor":
            predicted = np.argmax(proba, axis=1)
            metrics[head] = {
                "accuracy": round(float(accuracy_score(truth, predicted)), 4),
                "majority_class_accuracy": round(float(np.bincount(truth).max() / len(truth)), 4),
                "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
            }
        else:
            predicted = (proba >= 0.5).astype(int)
            metrics[head] = {
                "micro_f1": round(float(f1_score(truth, predicted, average="micro")), 4),
                "macro_roc_auc": round(float(roc_auc_score(truth, proba, average="macro")), 4),
            }
    metrics["onnx_max_abs_diff"] = max(diffs)
    label_names = {
        "vulnerability_predictor": list(VULNERABILITY_CLASSES),
        "severity_predictor": list(SEVERITY_LEVELS),
        "chain_detector": list(CHAINS),
    }
    metadata = {
        "task": "target_risk",
        "algorithm": (
            "OneVsRest(LogisticRegression) x 2 + LogisticRegression (scikit-learn), "
            "ONNX via skl2onnx"
        ),
        "dataset": f"inferstream.training.datasets.target_records(n={rows}, seed={seed})",
        "preprocessing": {"feature_names": list(FEATURE_NAMES)},
        "labels": label_names,
        "metrics_held_out": metrics,
        # What the monitor compares live traffic with (drift as PSI): the held-out inputs
        # and the risk scores the results would carry for them.
        "reference": reference.build(
            FEATURE_NAMES, x[cut:], risk_scores(held_out, label_names)
        ).to_json(),
    }
    version, directory = write_bundle(models_dir, BUNDLE_NAME, graphs, metadata)
    return TrainReport("target_risk", BUNDLE_NAME, version, directory, metrics)
