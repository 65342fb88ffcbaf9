"""anomaly enrichment (pure): the observation to score, in model feature order.

A ``features`` payload is one observation of its series (``timestamp`` defaults to the
envelope's ``produced_at``); its history is the series' window in the infer worker. A
``window`` payload brings its own history: its last record is scored against the records
before it (the series' window is not consulted), and that last record joins the series.
Features the model does not know are ignored (and listed); a missing one rejects the record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from inferstream.plugins import Rejection
from inferstream.schemas import AnomalyPayload, Envelope
from inferstream.tasks.anomaly.scoring import FEATURE_NAMES, WINDOW

Values = Annotated[list[float], Field(min_length=len(FEATURE_NAMES), max_length=len(FEATURE_NAMES))]


class AnomalyEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series_id: str
    observed_at: AwareDatetime
    values: Values
    # Only for window payloads: the observations before the scored one (at most WINDOW).
    history: list[Values] | None = None
    ignored_features: list[str] = Field(default_factory=list)


def _values(features: dict[str, float], where: str) -> list[float] | Rejection:
    missing = [name for name in FEATURE_NAMES if name not in features]
    if missing:
        return Rejection(
            f"{where} lacks the feature(s) {', '.join(missing)} "
            f"(the model needs {', '.join(FEATURE_NAMES)})"
        )
    return [float(features[name]) for name in FEATURE_NAMES]


def enrich(envelope: Envelope[Any]) -> AnomalyEnrichment | Rejection:
    payload = envelope.payload
    if not isinstance(payload, AnomalyPayload):
        return Rejection(f"payload is {type(payload).__name__}, expected AnomalyPayload")
    if payload.features is not None:
        values = _values(payload.features, "features")
        if isinstance(values, Rejection):
            return values
        observed: datetime = payload.timestamp or envelope.produced_at
        return AnomalyEnrichment(
            series_id=payload.series_id,
            observed_at=observed,
            values=values,
            ignored_features=sorted(set(payload.features) - set(FEATURE_NAMES)),
        )
    assert payload.window is not None  # the schema guarantees exactly one of the two
    window = sorted(payload.window, key=lambda r: r.timestamp)
    rows: list[list[float]] = []
    for i, record in enumerate(window):
        values = _values(record.features, f"window[{i}].features")
        if isinstance(values, Rejection):
            return values
        rows.append(values)
    return AnomalyEnrichment(
        series_id=payload.series_id,
        observed_at=window[-1].timestamp,
        values=rows[-1],
        history=rows[:-1][-WINDOW:],
        ignored_features=sorted(set(window[0].features) - set(FEATURE_NAMES)),
    )
