"""churn inference: the logistic classifier's ONNX graph, plus exact per-feature contributions.

The model is standardise -> logistic regression, so the log-odds are a sum over features:
``intercept + sum_j coef_j * (x_j - mean_j) / scale_j``. Each term is that feature's
contribution (positive pushes towards churn); the largest few by magnitude are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from inferstream.errors import PoisonBatchError
from inferstream.models.tabular import TabularBundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.tasks.churn.enrich import ChurnEnrichment
from inferstream.tasks.churn.features import FEATURE_NAMES
from inferstream.tasks.churn.metrics import PREDICTIONS, PROBABILITY
from inferstream.tasks.tabular import MatrixInferer, VersionModel

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


class ChurnModel(VersionModel):
    """One version of the churn model: its ONNX graph and the constants of its contributions."""

    def __init__(self, bundle: TabularBundle) -> None:
        super().__init__(bundle, FEATURE_NAMES, "churn")
        pre = bundle.preprocessing
        self.mean = [float(v) for v in pre["mean"]]
        self.scale = [float(v) for v in pre["scale"]]
        self.coef = [float(v) for v in pre["coef"]]
        self.threshold = float(bundle.metadata.get("threshold", 0.5))
        # One run now, on the loading thread: a session's first run allocates its buffers, and
        # a hot-reloaded version must not pay that on its first served batch.
        self.model.run("classifier", np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32))

    def predict(
        self, items: Sequence[EnrichedItem], x: npt.NDArray[np.float32], now: datetime
    ) -> list[ResultFields]:
        try:
            probabilities = self.model.run("classifier", x)["probabilities"][:, 1]
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(
                f"churn model failed: {err}", model=(self.name, self.version)
            ) from err
        terms = contributions(x.astype(np.float64), self.mean, self.scale, self.coef)
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
                    (self.name, self.version),
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


class ChurnInferer(MatrixInferer[ChurnModel]):
    """Serves the registry's production alias of the churn model (the local bundle while there
    is none) and its canary for a stable key-hash share of submissions; switches versions
    between batches when an alias moves (inferstream.models.registry.serving)."""

    enrichment_type = ChurnEnrichment

    def __init__(self, context: InferContext, *, registry: bool = True) -> None:
        super().__init__(context, BUNDLE_NAME, "churn", ChurnModel, registry=registry)
