"""churn enrichment (pure): the feature vector and consistency flags of one customer record."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from inferstream.plugins import Rejection
from inferstream.schemas import ChurnPayload, Envelope
from inferstream.tasks.churn.features import FEATURE_NAMES, encode

# Total charges may exceed tenure x monthly charges (price changes, one-off fees) but not by
# this factor; beyond it the record is kept and flagged.
MAX_CHARGE_RATIO = 3.0


class ChurnEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str
    features: Annotated[
        list[float], Field(min_length=len(FEATURE_NAMES), max_length=len(FEATURE_NAMES))
    ]
    flags: list[str]


def enrich(envelope: Envelope[Any]) -> ChurnEnrichment | Rejection:
    payload = envelope.payload
    if not isinstance(payload, ChurnPayload):
        return Rejection(f"payload is {type(payload).__name__}, expected ChurnPayload")
    if payload.tenure_months == 0 and payload.total_charges > payload.monthly_charges:
        return Rejection(
            "total_charges exceeds monthly_charges for a customer with tenure_months 0"
        )
    flags: list[str] = []
    expected = payload.monthly_charges * max(payload.tenure_months, 1)
    if expected > 0 and payload.total_charges > MAX_CHARGE_RATIO * expected:
        flags.append("total_charges_high_for_tenure")
    if payload.internet_service == "none" and payload.monthly_charges > 60:
        flags.append("high_charges_without_internet")
    return ChurnEnrichment(customer_id=payload.customer_id, features=encode(payload), flags=flags)
