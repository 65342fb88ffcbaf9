"""churn inference: the logistic classifier's ONNX graph, plus exact per-feature contributions.

The model is standardise -> logistic regression, so the log-odds are a sum over features:
``intercept + sum_j coef_j * (x_j - mean_j) / scale_j``. Each term is that feature's
contribution (positive pushes towards churn); the largest few by magnitude are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.errors import PoisonBatchError
from inferstream.models.tabular import TabularModel, load_tabular_bundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.tasks.churn.enrich import ChurnEnrichment
from inferstream.tasks.churn.features import FEATURE_NAMES
from inferstream.tasks.churn.metrics import PREDICTIONS, PROBABILITY

BUNDLE_NAME = "churn-logreg"
TOP_FEATURES = 5


def contributions(
    x: npt.NDArray[np.float64], mean: Sequence[float], scale: Sequence[float], coef: Sequence[float]
) -> npt.NDArray[np.float64]:
    """Per-feature log-odds terms of each row (pure)."""
    z = (x - np.asarray(mean)) / np.asarray(scale)
    return np.asarray(z * np.asarray(coef), dtype=np.float64)


def top_contributions(
    row: npt.NDArray[np.float64], k: int = TOP_FEATURES
) -> list[tuple[str, float]]:
    order = sorted(range(len(row)), key=lambda j: (-abs(float(row[j])), FEATURE_NAMES[j]))
    return [(FEATURE_NAMES[j], round(float(row[j]), 6)) for j in order[:k]]


class ChurnInferer:
    def __init__(self, context: InferContext) -> None:
        bundle = load_tabular_bundle(context.models_dir, BUNDLE_NAME, "churn")
        pre = bundle.preprocessing
        if tuple(pre.get("feature_names", ())) != FEATURE_NAMES:
            raise RuntimeError(
                f"bundle {bundle.name}/{bundle.version} was trained on other features; "
                "run `inferstream models train churn`"
            )
        self.model = TabularModel(bundle)
        self.model_name = bundle.name
        self.model_version = bundle.version
        self.mean = [float(v) for v in pre["mean"]]
        self.scale = [float(v) for v in pre["scale"]]
        self.coef = [float(v) for v in pre["coef"]]
        self.threshold = float(bundle.metadata.get("threshold", 0.5))

    def cost(self, item: EnrichedItem) -> int:
        return 1

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return np.asarray([_enrichment(i).features for i in items], dtype=np.float32)

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        if not isinstance(prepared, np.ndarray):
            raise TypeError("prepare() output expected")
        try:
            probabilities = self.model.run("classifier", prepared)["probabilities"][:, 1]
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"churn model failed: {err}") from err
        terms = contributions(prepared.astype(np.float64), self.mean, self.scale, self.coef)
        now = datetime.now(UTC)
        results: list[ResultFields] = []
        for i, item in enumerate(items):
            p = float(min(1.0, max(0.0, probabilities[i])))
            label = p >= self.threshold
            PREDICTIONS.labels(label=str(label).lower()).inc()
            PROBABILITY.observe(p)
            # Plain fields, no pydantic object (plugins/results.py); values from the model.
            fields = {
                **result_head(
                    "churn",
                    item.envelope.submission_id,
                    item.envelope.schema_version,
                    (self.model_name, self.model_version),
                    now,
                ),
                "probability": p,
                "label": label,
                "threshold": self.threshold,
                "top_features": [
                    {"name": n, "contribution": c} for n, c in top_contributions(terms[i])
                ],
            }
            results.append(fields)
        return results

    def observe(self, results: Sequence[ResultFields]) -> None:
        return None  # stateless

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.model.providers[0]}"


def _enrichment(item: EnrichedItem) -> ChurnEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, ChurnEnrichment):
        raise TypeError(f"expected ChurnEnrichment, got {type(enrichment).__name__}")
    return enrichment
