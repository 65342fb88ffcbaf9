"""The anomaly task plug-in (seed 003, Pynomaly): per-series windows, isolation forest and
robust z-scores. Enrich keys its records by ``series_id`` so each series stays in one
partition, in order; the results carry what rebuilding the windows needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from pydantic import BaseModel

from inferstream.plugins import InferContext, Inferer, Rejection, ResultFields
from inferstream.plugins.columns import ANOMALY
from inferstream.schemas import Envelope
from inferstream.settings import PostgresSettings
from inferstream.tasks.anomaly.enrich import AnomalyEnrichment, enrich
from inferstream.tasks.anomaly.inferer import AnomalyInferer
from inferstream.tasks.anomaly.scoring import WINDOW

# Observations per series read back at start (the windows only need the last WINDOW).
HISTORY_PER_SERIES = 4 * WINDOW

TABLE = ANOMALY
_STORED = TABLE.stored()


class AnomalyPlugin:
    name = "anomaly"
    enrichment_model: type[BaseModel] = AnomalyEnrichment
    table = TABLE

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        return [enrich(envelope) for envelope in envelopes]

    def enriched_key(self, envelope: Envelope[Any], enrichment: BaseModel) -> bytes:
        """One partition per series: its observations are scored in stream order."""
        if isinstance(enrichment, AnomalyEnrichment):
            return enrichment.series_id.encode()
        return envelope.submission_id.encode()

    def load_inferer(self, context: InferContext) -> Inferer:
        return AnomalyInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        """The last observations of every series, to rebuild the windows on start (rows the
        windows cannot use are skipped, with a warning, by the inferer's ``observe``)."""
        query = (
            f"SELECT {', '.join(c.name for c in _STORED)} FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY series_id "
            f"ORDER BY input_partition DESC, input_offset DESC) AS rn FROM {TABLE.name}"
            f") latest WHERE rn <= %s"
        )
        with psycopg.connect(postgres.conninfo()) as conn:
            return [
                TABLE.fields_of(row, _STORED) for row in conn.execute(query, (HISTORY_PER_SERIES,))
            ]


def plugin() -> AnomalyPlugin:
    return AnomalyPlugin()
