"""target_risk inference: the three ONNX heads, then the risk score and level."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog

from inferstream.errors import PoisonBatchError
from inferstream.models.tabular import TabularModel, load_tabular_bundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment
from inferstream.tasks.target_risk.features import FEATURE_NAMES
from inferstream.tasks.target_risk.metrics import ANALYSES, DURATION
from inferstream.tasks.target_risk.risk import BUNDLE_NAME, HEADS, risk_level, risk_score

log = structlog.get_logger("inferstream.target_risk")
MIN_REPORTED = 0.05  # vulnerability classes and chains below this probability are left out
HIGH_RISK = 8.0


class TargetRiskInferer:
    def __init__(self, context: InferContext) -> None:
        bundle = load_tabular_bundle(context.models_dir, BUNDLE_NAME, "target_risk")
        if tuple(bundle.preprocessing.get("feature_names", ())) != FEATURE_NAMES:
            raise RuntimeError(
                f"bundle {bundle.name}/{bundle.version} was trained on other features; "
                "run `inferstream models train target_risk`"
            )
        self.model = TabularModel(bundle)
        self.model_name = bundle.name
        self.model_version = bundle.version
        labels = bundle.metadata["labels"]
        self.labels = {head: [str(v) for v in labels[head]] for head in HEADS}

    def cost(self, item: EnrichedItem) -> int:
        return 1

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return np.asarray([_enrichment(i).features for i in items], dtype=np.float32)

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        if not isinstance(prepared, np.ndarray):
            raise TypeError("prepare() output expected")
        started = time.perf_counter()
        try:
            heads = {h: self.model.run(h, prepared)["probabilities"] for h in HEADS}
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"target_risk model failed: {err}") from err
        now = datetime.now(UTC)
        results: list[ResultFields] = []
        for i, item in enumerate(items):
            named = {
                h: [
                    (n, float(min(1.0, max(0.0, p))))
                    for n, p in zip(self.labels[h], heads[h][i], strict=True)
                ]
                for h in HEADS
            }
            vulns = sorted(named["vulnerability_predictor"], key=lambda v: (-v[1], v[0]))
            chains = sorted(named["chain_detector"], key=lambda v: (-v[1], v[0]))
            severity = max(named["severity_predictor"], key=lambda v: v[1])
            score = risk_score(vulns, named["severity_predictor"], chains)
            level = risk_level(score)
            ANALYSES.labels(risk_level=level).inc()
            if score >= HIGH_RISK:
                log.debug("high_risk_detected", risk_score=score, domain=_enrichment(item).domain)
            # Plain fields, no pydantic object (plugins/results.py); values from the models.
            fields = {
                **result_head(
                    "target_risk",
                    item.envelope.submission_id,
                    item.envelope.schema_version,
                    (self.model_name, self.model_version),
                    now,
                ),
                "risk_score": score,
                "risk_level": level,
                "vulnerabilities": [
                    {"vulnerability_class": n, "probability": p}
                    for n, p in vulns
                    if p >= MIN_REPORTED
                ],
                "severity": {"label": severity[0], "probability": severity[1]},
                "chains": [{"name": n, "probability": p} for n, p in chains if p >= MIN_REPORTED],
            }
            results.append(fields)
        per_target = (time.perf_counter() - started) / max(1, len(items))
        for _ in items:
            DURATION.observe(per_target)
        return results

    def observe(self, results: Sequence[ResultFields]) -> None:
        return None  # stateless

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.model.providers[0]}"


def _enrichment(item: EnrichedItem) -> TargetRiskEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, TargetRiskEnrichment):
        raise TypeError(f"expected TargetRiskEnrichment, got {type(enrichment).__name__}")
    return enrichment
