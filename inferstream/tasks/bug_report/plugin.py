"""The bug_report task plug-in (seed 001, Bug Dedup): quality gate, MiniLM-L6 embeddings,
duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import structlog
from pgvector.psycopg import register_vector
from pydantic import BaseModel

from inferstream.plugins import InferContext, Inferer, Rejection, ResultFields
from inferstream.plugins.columns import BUG_REPORT
from inferstream.schemas import Envelope
from inferstream.settings import PostgresSettings
from inferstream.tasks.bug_report.enrich import BugReportEnrichment, enrich
from inferstream.tasks.bug_report.inferer import BugReportInferer
from inferstream.tasks.bug_report.metrics import BUG_SUBMISSIONS, LOW_QUALITY
from inferstream.tasks.bug_report.quality import QualityPolicy
from inferstream.tasks.bug_report.settings import BugReportSettings

log = structlog.get_logger("inferstream.bug_report")

TABLE = BUG_REPORT
# What the index rebuild reads back: the scorer's inputs, not the whole row.
_HISTORY = tuple(
    c
    for c in TABLE.all_columns
    if c.name in {"submission_id", "embedding", "dedup_terms", "product", "component"}
)


class BugReportPlugin:
    name = "bug_report"
    enrichment_model: type[BaseModel] = BugReportEnrichment
    table = TABLE

    def __init__(self) -> None:
        self._policy: QualityPolicy | None = None

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        if self._policy is None:  # read once, on the first batch (not at import or discovery)
            self._policy = BugReportSettings.load().quality_policy()
        policy = self._policy
        outcomes: list[BaseModel | Rejection] = [enrich(envelope, policy) for envelope in envelopes]
        accepted = [o for o in outcomes if isinstance(o, BugReportEnrichment)]
        BUG_SUBMISSIONS.inc(len(accepted))
        LOW_QUALITY.inc(sum(1 for o in accepted if o.low_quality))
        return outcomes

    def load_inferer(self, context: InferContext) -> Inferer:
        return BugReportInferer(context, BugReportSettings.load().profile())

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        """Every stored embedding and term map, to rebuild the kNN and lexical indexes on start
        (one read at start, never per record). Rows the scorer cannot use (no embedding) are
        left out by the inferer's ``observe``."""
        names = ", ".join(c.name for c in _HISTORY)
        with psycopg.connect(postgres.conninfo()) as conn:
            register_vector(conn)
            cursor = conn.execute(f"SELECT {names} FROM {TABLE.name}")
            return [TABLE.fields_of(row, _HISTORY) for row in cursor]


def plugin() -> BugReportPlugin:
    return BugReportPlugin()
