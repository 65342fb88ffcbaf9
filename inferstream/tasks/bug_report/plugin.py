"""The bug_report task plug-in (seed 001): quality gate, MiniLM-L6 embeddings, duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import structlog
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from inferstream.schemas import BugReportResult, Envelope, ResultBase
from inferstream.settings import PostgresSettings
from inferstream.tasks.bug_report.dedup import get_profile
from inferstream.tasks.bug_report.enrich import BugReportEnrichment, enrich
from inferstream.tasks.bug_report.inferer import BugReportInferer
from inferstream.tasks.bug_report.metrics import BUG_SUBMISSIONS, LOW_QUALITY
from inferstream.tasks.bug_report.settings import BugReportSettings
from inferstream.tasks.plugin import InferContext, Inferer, Rejection, ResultTable

log = structlog.get_logger("inferstream.bug_report")

TABLE = ResultTable(
    name="results_bug_report",
    columns=(
        "result_id",
        "submission_id",
        "model_name",
        "model_version",
        "tokenizer_version",
        "quality_score",
        "quality_flags",
        "low_quality",
        "duplicate_status",
        "duplicate_of",
        "similar_items",
        "content_sha256",
        "embedding",
        "produced_at",
        "product",
        "component",
        "dedup_terms",
        "dedup_profile",
        "dedup_profile_version",
        "submitted_at",
    ),
    types=(
        "text",
        "text",
        "text",
        "text",
        "text",
        "float4",
        "text[]",
        "bool",
        "text",
        "text",
        "jsonb",
        "text",
        "vector",
        "timestamptz",
        "text",
        "text",
        "jsonb",
        "text",
        "text",
        "timestamptz",
    ),
)


class BugReportPlugin:
    name = "bug_report"
    enrichment_model: type[BaseModel] = BugReportEnrichment
    table = TABLE

    def enrich(self, envelope: Envelope[Any]) -> BaseModel | Rejection:
        outcome = enrich(envelope)
        if isinstance(outcome, BugReportEnrichment):
            BUG_SUBMISSIONS.inc()
            if outcome.low_quality:
                LOW_QUALITY.inc()
        return outcome

    def load_inferer(self, context: InferContext) -> Inferer:
        profile = get_profile(BugReportSettings.load().dedup_profile)
        return BugReportInferer(context, profile)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultBase]:
        """Every stored embedding and term map, to rebuild the kNN and lexical indexes on start
        (one read at start, never per record)."""
        columns = [c for c in TABLE.columns if c != "submitted_at"]
        with psycopg.connect(postgres.conninfo()) as conn:
            register_vector(conn)
            cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {TABLE.name}")
            rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        results: list[ResultBase] = []
        for row in rows:
            try:
                results.append(_from_row(row))
            except ValidationError as err:
                # A row that no longer satisfies the result contract (e.g. written by hand)
                # must not stop the worker; it is just left out of the in-memory index.
                log.warning(
                    "stored result skipped in index rebuild",
                    submission_id=row.get("submission_id"),
                    reason=str(err)[:300],
                )
        return results

    def row(self, result: ResultBase, submitted_at: datetime | None) -> tuple[Any, ...]:
        if not isinstance(result, BugReportResult):
            raise TypeError(f"expected BugReportResult, got {type(result).__name__}")
        if result.embedding is None:
            raise ValueError(f"result {result.result_id} has no embedding")
        return (
            result.result_id,
            result.submission_id,
            result.model_name,
            result.model_version,
            result.tokenizer_version,
            result.quality_score,
            result.quality_flags,
            result.low_quality,
            result.duplicate_status,
            result.duplicate_of,
            Jsonb([s.model_dump() for s in result.similar]),
            result.content_sha256,
            np.asarray(result.embedding, dtype=np.float32),
            result.produced_at,
            result.product,
            result.component,
            Jsonb(result.dedup_terms) if result.dedup_terms is not None else None,
            result.dedup_profile,
            result.dedup_profile_version,
            submitted_at,
        )


def _from_row(row: dict[str, Any]) -> BugReportResult:
    return BugReportResult(
        result_id=row["result_id"],
        submission_id=row["submission_id"],
        schema_version=1,
        model_name=row["model_name"],
        model_version=row["model_version"],
        tokenizer_version=row["tokenizer_version"],
        produced_at=row["produced_at"],
        quality_score=row["quality_score"],
        quality_flags=row["quality_flags"],
        low_quality=row["low_quality"],
        duplicate_status=row["duplicate_status"],
        duplicate_of=row["duplicate_of"],
        similar=row["similar_items"],
        content_sha256=row["content_sha256"],
        embedding=_vector(row["embedding"]),
        product=row["product"],
        component=row["component"],
        dedup_terms=row["dedup_terms"],
        dedup_profile=row["dedup_profile"],
        dedup_profile_version=row["dedup_profile_version"],
    )


def plugin() -> BugReportPlugin:
    return BugReportPlugin()


def _vector(value: Any) -> list[float]:
    """pgvector returns a Vector (binary) or a numpy array depending on registration."""
    if hasattr(value, "to_list"):
        return [float(x) for x in value.to_list()]
    return [float(x) for x in value]
