"""The churn task plug-in (seed 004): customer record -> churn probability, label, reasons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from inferstream.schemas import ChurnResult, Envelope, ResultBase
from inferstream.settings import PostgresSettings
from inferstream.tasks.churn.enrich import ChurnEnrichment, enrich
from inferstream.tasks.churn.inferer import ChurnInferer
from inferstream.tasks.plugin import (
    InferContext,
    Inferer,
    Rejection,
    result_row,
    result_table,
)

TABLE = result_table(
    "results_churn",
    (
        ("probability", "float8"),
        ("label", "bool"),
        ("threshold", "float8"),
        ("top_features", "jsonb"),
    ),
)


class ChurnPlugin:
    name = "churn"
    enrichment_model: type[BaseModel] = ChurnEnrichment
    table = TABLE

    def enrich(self, envelope: Envelope[Any]) -> BaseModel | Rejection:
        return enrich(envelope)

    def load_inferer(self, context: InferContext) -> Inferer:
        return ChurnInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultBase]:
        return []  # stateless: nothing to rebuild

    def row(self, result: ResultBase, submitted_at: datetime | None) -> tuple[Any, ...]:
        if not isinstance(result, ChurnResult):
            raise TypeError(f"expected ChurnResult, got {type(result).__name__}")
        return result_row(
            result,
            submitted_at,
            (
                result.probability,
                result.label,
                result.threshold,
                Jsonb([f.model_dump() for f in result.top_features]),
            ),
        )


def plugin() -> ChurnPlugin:
    return ChurnPlugin()
