"""The churn feature vector (pure): the same encoding at training and at serving time."""

from __future__ import annotations

import math
from typing import get_args

from inferstream.schemas import ChurnPayload
from inferstream.schemas.tasks.churn import Contract, InternetService, PaymentMethod

NUMERIC = (
    "tenure_months",
    "monthly_charges",
    "log_total_charges",
    "num_support_tickets",
    "senior_citizen",
    "has_partner",
    "has_dependents",
    "paperless_billing",
)
CONTRACTS: tuple[str, ...] = get_args(Contract)
PAYMENTS: tuple[str, ...] = get_args(PaymentMethod)
INTERNET: tuple[str, ...] = get_args(InternetService)
FEATURE_NAMES: tuple[str, ...] = (
    *NUMERIC,
    *(f"contract={c}" for c in CONTRACTS),
    *(f"payment_method={p}" for p in PAYMENTS),
    *(f"internet_service={i}" for i in INTERNET),
)


def _one_hot(value: str, choices: tuple[str, ...]) -> list[float]:
    return [1.0 if value == choice else 0.0 for choice in choices]


def encode(payload: ChurnPayload) -> list[float]:
    """One row in FEATURE_NAMES order (tickets capped at 50, total charges on a log scale)."""
    row = [
        float(payload.tenure_months),
        float(payload.monthly_charges),
        math.log1p(payload.total_charges),
        float(min(payload.num_support_tickets, 50)),
        float(payload.senior_citizen),
        float(payload.has_partner),
        float(payload.has_dependents),
        float(payload.paperless_billing),
        *_one_hot(payload.contract, CONTRACTS),
        *_one_hot(payload.payment_method, PAYMENTS),
        *_one_hot(payload.internet_service, INTERNET),
    ]
    assert len(row) == len(FEATURE_NAMES)
    return row
