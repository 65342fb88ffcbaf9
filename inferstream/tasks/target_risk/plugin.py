"""The target_risk task plug-in (seed 000, BugPredict AI)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from inferstream.schemas import Envelope, ResultBase, TargetRiskResult
from inferstream.settings import PostgresSettings
from inferstream.tasks.plugin import (
    InferContext,
    Inferer,
    Rejection,
    result_row,
    result_table,
)
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment, enrich
from inferstream.tasks.target_risk.inferer import TargetRiskInferer

TABLE = result_table(
    "results_target_risk",
    (
        ("risk_score", "float8"),
        ("risk_level", "text"),
        ("vulnerabilities", "jsonb"),
        ("severity", "jsonb"),
        ("chains", "jsonb"),
    ),
)


class TargetRiskPlugin:
    name = "target_risk"
    enrichment_model: type[BaseModel] = TargetRiskEnrichment
    table = TABLE

    def enrich(self, envelope: Envelope[Any]) -> BaseModel | Rejection:
        return enrich(envelope)

    def load_inferer(self, context: InferContext) -> Inferer:
        return TargetRiskInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultBase]:
        return []  # stateless: nothing to rebuild

    def row(self, result: ResultBase, submitted_at: datetime | None) -> tuple[Any, ...]:
        if not isinstance(result, TargetRiskResult):
            raise TypeError(f"expected TargetRiskResult, got {type(result).__name__}")
        return result_row(
            result,
            submitted_at,
            (
                result.risk_score,
                result.risk_level,
                Jsonb([v.model_dump() for v in result.vulnerabilities]),
                Jsonb(result.severity.model_dump()),
                Jsonb([c.model_dump() for c in result.chains]),
            ),
        )


def plugin() -> TargetRiskPlugin:
    return TargetRiskPlugin()
