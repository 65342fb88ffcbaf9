"""churn: payload schema, enrichment (the MLOps platform's samples), features, contributions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from inferstream.plugins import Rejection
from inferstream.schemas import ChurnPayload, build_envelope, sample_payload
from inferstream.tasks.churn.enrich import ChurnEnrichment, enrich
from inferstream.tasks.churn.features import FEATURE_NAMES, encode
from inferstream.tasks.churn.inferer import contributions, top_contributions

SAMPLE = sample_payload("churn")


def _enrich(**overrides: Any) -> ChurnEnrichment | Rejection:
    return enrich(build_envelope("churn", {**SAMPLE, **overrides}))


def test_the_sample_record_is_valid_and_encodes_to_the_named_columns() -> None:
    result = _enrich()
    assert isinstance(result, ChurnEnrichment)
    row = dict(zip(FEATURE_NAMES, result.features, strict=True))
    assert row["tenure_months"] == 3
    assert row["monthly_charges"] == 89.5
    assert row["log_total_charges"] == pytest.approx(math.log1p(268.5))
    assert row["num_support_tickets"] == 4
    assert row["contract=month-to-month"] == 1.0
    assert row["contract=two_year"] == 0.0
    assert row["payment_method=electronic_check"] == 1.0
    assert row["internet_service=fiber_optic"] == 1.0
    assert sum(v for k, v in row.items() if k.startswith("contract=")) == 1.0
    assert result.flags == []
    assert result.customer_id == "cust-0001"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contract", "weekly"),
        ("tenure_months", -1),
        ("monthly_charges", float("nan")),
        ("payment_method", "cash"),
        ("unknown_field", 1),
    ],
)
def test_the_schema_refuses_bad_records(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ChurnPayload.model_validate({**SAMPLE, field: value})


def test_enrich_rejects_charges_without_tenure_and_flags_odd_totals() -> None:
    rejected = _enrich(tenure_months=0, total_charges=500.0)
    assert isinstance(rejected, Rejection)
    assert "tenure_months 0" in rejected.reason
    flagged = _enrich(tenure_months=2, monthly_charges=20.0, total_charges=400.0)
    assert isinstance(flagged, ChurnEnrichment)
    assert flagged.flags == ["total_charges_high_for_tenure"]


def test_support_tickets_are_capped() -> None:
    payload = ChurnPayload.model_validate({**SAMPLE, "num_support_tickets": 9000})
    assert encode(payload)[FEATURE_NAMES.index("num_support_tickets")] == 50.0


def test_contributions_are_the_log_odds_terms_and_ranked_by_magnitude() -> None:
    n = len(FEATURE_NAMES)
    x = np.ones((1, n))
    coef = [0.0] * n
    coef[FEATURE_NAMES.index("tenure_months")] = -2.0
    coef[FEATURE_NAMES.index("monthly_charges")] = 0.5
    terms = contributions(x, [0.0] * n, [2.0] * n, coef)
    top = top_contributions(terms[0], k=2)
    assert top == [("tenure_months", -1.0), ("monthly_charges", 0.25)]
