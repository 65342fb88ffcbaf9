"""target_risk inference: the three ONNX heads, then the risk score and level.

Served like churn (inferstream.models.registry.serving): the registry's production version,
its canary for a key-hash share, switched between batches when an alias moves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from inferstream.errors import PoisonBatchError
from inferstream.models.tabular import TabularBundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.tasks.tabular import MatrixInferer, VersionModel
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment
from inferstream.tasks.target_risk.features import FEATURE_NAMES
from inferstream.tasks.target_risk.metrics import ANALYSES, DURATION
from inferstream.tasks.target_risk.risk import (
    BUNDLE_NAME,
    HEADS,
    named_probabilities,
    named_risk_score,
    risk_level,
)

log = structlog.get_logger("inferstream.target_risk")
MIN_REPORTED = 0.05  # vulnerability classes and chains below this probability are left out
HIGH_RISK = 8.0


class TargetRiskModel(VersionModel):
    """One version of the three heads and their label names."""

    def __init__(self, bundle: TabularBundle) -> None:
        super().__init__(bundle, FEATURE_NAMES, "target_risk")
        labels = bundle.metadata["labels"]
        self.labels = {head: [str(v) for v in labels[head]] for head in HEADS}
        # One run now, on the loading thread: a hot-reloaded version must not pay a session's
        # first-run allocations on its first served batch.
        zeros = np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32)
        for head in HEADS:
            self.model.run(head, zeros)

    def predict(
        self, items: Sequence[EnrichedItem], x: npt.NDArray[np.float32], now: datetime
    ) -> list[ResultFields]:
        try:
            heads = {h: self.model.run(h, x)["probabilities"] for h in HEADS}
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(
                f"target_risk model failed: {err}", model=(self.name, self.version)
            ) from err
        return [self._fields(item, heads, i, now) for i, item in enumerate(items)]

    def _fields(
        self, item: EnrichedItem, heads: dict[str, Any], i: int, now: datetime
    ) -> ResultFields:
        named = named_probabilities(self.labels, heads, i)
        vulns = sorted(named["vulnerability_predictor"], key=lambda v: (-v[1], v[0]))
        chains = sorted(named["chain_detector"], key=lambda v: (-v[1], v[0]))
        severity = max(named["severity_predictor"], key=lambda v: v[1])
        score = named_risk_score(named)
        level = risk_level(score)
        ANALYSES.labels(risk_level=level).inc()
        if score >= HIGH_RISK:
            log.debug("high_risk_detected", risk_score=score, domain=_enrichment(item).domain)
        # Plain fields, no pydantic object (plugins/results.py); values from the models.
        return {
            **result_head(
                "target_risk",
                item.envelope.submission_id,
                item.envelope.schema_version,
                (self.name, self.version),
                now,
            ),
            "risk_score": score,
            "risk_level": level,
            "vulnerabilities": [
                {"vulnerability_class": n, "probability": p} for n, p in vulns if p >= MIN_REPORTED
            ],
            "severity": {"label": severity[0], "probability": severity[1]},
            "chains": [{"name": n, "probability": p} for n, p in chains if p >= MIN_REPORTED],
        }


class TargetRiskInferer(MatrixInferer[TargetRiskModel]):
    enrichment_type = TargetRiskEnrichment

    def __init__(self, context: InferContext, *, registry: bool = True) -> None:
        super().__init__(context, BUNDLE_NAME, "target_risk", TargetRiskModel, registry=registry)

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        started = time.perf_counter()
        results = super().run(items, prepared)
        per_target = (time.perf_counter() - started) / max(1, len(items))
        for _ in items:
            DURATION.observe(per_target)
        return results


def _enrichment(item: EnrichedItem) -> TargetRiskEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, TargetRiskEnrichment):
        raise TypeError(f"expected TargetRiskEnrichment, got {type(enrichment).__name__}")
    return enrichment
