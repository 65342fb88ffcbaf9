"""The target_risk task plug-in (seed 000, BugPredict AI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from inferstream.plugins import InferContext, Inferer, Rejection, ResultFields
from inferstream.plugins.columns import TARGET_RISK
from inferstream.schemas import Envelope
from inferstream.settings import PostgresSettings
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment, enrich
from inferstream.tasks.target_risk.inferer import TargetRiskInferer

TABLE = TARGET_RISK


class TargetRiskPlugin:
    name = "target_risk"
    enrichment_model: type[BaseModel] = TargetRiskEnrichment
    table = TABLE

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        return [enrich(envelope) for envelope in envelopes]

    def load_inferer(self, context: InferContext) -> Inferer:
        return TargetRiskInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        return []  # stateless: nothing to rebuild


def plugin() -> TargetRiskPlugin:
    return TargetRiskPlugin()
