"""The anomaly task plug-in (seed 003, Pynomaly): per-series windows, isolation forest and
robust z-scores. Enrich keys its records by ``series_id`` so each series stays in one
partition, in order; the results carry what rebuilding the windows needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from inferstream.schemas import AnomalyResult, Envelope, ResultBase
from inferstream.settings import PostgresSettings
from inferstream.tasks.anomaly.enrich import AnomalyEnrichment, enrich
from inferstream.tasks.anomaly.inferer import AnomalyInferer
from inferstream.tasks.anomaly.scoring import WINDOW
from inferstream.tasks.plugin import (
    InferContext,
    Inferer,
    Rejection,
    result_row,
    result_table,
)

log = structlog.get_logger("inferstream.anomaly")
# Observations per series read back at start (the windows only need the last WINDOW).
HISTORY_PER_SERIES = 4 * WINDOW

TABLE = result_table(
    "results_anomaly",
    (
        ("series_id", "text"),
        ("observed_at", "timestamptz"),
        ("input_partition", "int4"),
        ("input_offset", "int8"),
        ("features", "jsonb"),
        ("score", "float8"),
        ("threshold", "float8"),
        ("is_anomaly", "bool"),
        ("detector", "text"),
        ("contributing_features", "jsonb"),
    ),
)
_STORED = [c for c in TABLE.columns if c != "submitted_at"]


class AnomalyPlugin:
    name = "anomaly"
    enrichment_model: type[BaseModel] = AnomalyEnrichment
    table = TABLE

    def enrich(self, envelope: Envelope[Any]) -> BaseModel | Rejection:
        return enrich(envelope)

    def enriched_key(self, envelope: Envelope[Any], enrichment: BaseModel) -> bytes:
        """One partition per series: its observations are scored in stream order."""
        if isinstance(enrichment, AnomalyEnrichment):
            return enrichment.series_id.encode()
        return envelope.submission_id.encode()

    def load_inferer(self, context: InferContext) -> Inferer:
        return AnomalyInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultBase]:
        """The last observations of every series, to rebuild the windows on start."""
        query = (
            f"SELECT {', '.join(_STORED)} FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY series_id "
            f"ORDER BY input_partition DESC, input_offset DESC) AS rn FROM {TABLE.name}"
            f") latest WHERE rn <= %s"
        )
        with psycopg.connect(postgres.conninfo()) as conn:
            rows = [
                dict(zip(_STORED, r, strict=True))
                for r in conn.execute(query, (HISTORY_PER_SERIES,))
            ]
        results: list[ResultBase] = []
        for row in rows:
            try:
                results.append(
                    AnomalyResult.model_validate(
                        {
                            **row,
                            "result_id": str(row["result_id"]).strip(),
                            "schema_version": 1,
                            "contributing_features": row["contributing_features"],
                        }
                    )
                )
            except ValidationError as err:
                log.warning(
                    "stored result skipped in window rebuild",
                    submission_id=row.get("submission_id"),
                    reason=str(err)[:300],
                )
        return results

    def row(self, result: ResultBase, submitted_at: datetime | None) -> tuple[Any, ...]:
        if not isinstance(result, AnomalyResult):
            raise TypeError(f"expected AnomalyResult, got {type(result).__name__}")
        return result_row(
            result,
            submitted_at,
            (
                result.series_id,
                result.observed_at,
                result.input_partition,
                result.input_offset,
                Jsonb(result.features),
                result.score,
                result.threshold,
                result.is_anomaly,
                result.detector,
                Jsonb([c.model_dump() for c in result.contributing_features]),
            ),
        )


def plugin() -> AnomalyPlugin:
    return AnomalyPlugin()
