"""The churn task plug-in (seed 004, the MLOps platform): customer record -> churn probability,
label, reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from inferstream.plugins import InferContext, Inferer, Rejection, ResultFields
from inferstream.plugins.columns import CHURN
from inferstream.schemas import Envelope
from inferstream.settings import PostgresSettings
from inferstream.tasks.churn.enrich import ChurnEnrichment, enrich
from inferstream.tasks.churn.inferer import ChurnInferer

TABLE = CHURN


class ChurnPlugin:
    name = "churn"
    enrichment_model: type[BaseModel] = ChurnEnrichment
    table = TABLE

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        return [enrich(envelope) for envelope in envelopes]

    def load_inferer(self, context: InferContext) -> Inferer:
        return ChurnInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        return []  # stateless: nothing to rebuild


def plugin() -> ChurnPlugin:
    return ChurnPlugin()
