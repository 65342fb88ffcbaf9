"""bug_report enrichment: canonical text, hash, quality verdict, routing fields."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from inferstream.plugins import Rejection
from inferstream.schemas import build_envelope
from inferstream.tasks.bug_report.enrich import (
    MAX_CANONICAL_CHARS,
    SEED_POLICY,
    BugReportEnrichment,
    enrich,
)
from inferstream.tasks.bug_report.quality import QualityPolicy

FULL: dict[str, Any] = {
    "title": "Export to CSV hangs",
    "description": "Exporting a report with more than 10k rows never finishes.",
    "steps_to_reproduce": "1. Open a big report\n2. Click Export > CSV",
    "logs": "WARN export timeout after 300s",
    "product": "analytics",
    "component": "export",
    "reporter": "qa@example.com",
}


def _enrich(policy: QualityPolicy = SEED_POLICY, **overrides: Any) -> BugReportEnrichment:
    result = enrich(build_envelope("bug_report", {**FULL, **overrides}), policy)
    assert isinstance(result, BugReportEnrichment), result
    return result


def test_complete_report() -> None:
    result = _enrich()
    expected_text = f"{FULL['title']}\n{FULL['description']}\n{FULL['steps_to_reproduce']}"
    assert result.canonical_text == expected_text
    assert result.content_sha256 == hashlib.sha256(expected_text.casefold().encode()).hexdigest()
    assert result.quality_score == 1.0
    assert result.quality_flags == []
    assert result.low_quality is False
    assert result.product == "analytics"
    assert result.component == "export"


def test_component_defaults_to_empty() -> None:
    payload = {k: v for k, v in FULL.items() if k != "component"}
    result = enrich(build_envelope("bug_report", payload))
    assert isinstance(result, BugReportEnrichment)
    assert result.component == ""


def test_missing_steps_is_flagged_not_low_quality() -> None:
    result = _enrich(steps_to_reproduce="")
    assert result.quality_flags == ["missing_steps_to_reproduce"]
    assert result.quality_score == 0.7
    assert result.low_quality is False
    assert result.canonical_text == f"{FULL['title']}\n{FULL['description']}"


def test_short_description_and_no_steps_is_low_quality_but_not_rejected() -> None:
    result = _enrich(description="It hangs.", steps_to_reproduce="")
    assert result.quality_flags == ["description_too_short", "missing_steps_to_reproduce"]
    assert result.quality_score == 0.3
    assert result.low_quality is True


def test_policy_is_applied() -> None:
    result = _enrich(QualityPolicy(require_logs=True), logs="")
    assert result.quality_flags == ["missing_logs"]
    assert result.quality_score == 0.8


def test_reposts_differing_in_case_and_spacing_share_the_hash() -> None:
    a = _enrich()
    b = _enrich(
        title="  EXPORT to csv   hangs ",
        description=FULL["description"].upper() + "\r\n\r\n\r\n",
        logs="different logs",
        product="other",
    )
    assert a.content_sha256 == b.content_sha256


def test_canonical_text_is_capped_but_hash_covers_everything() -> None:
    base: dict[str, Any] = {
        "description": "a" * 20_000,
        "steps_to_reproduce": "b" * 19_990 + "c" * 10,
    }
    one = _enrich(**base)
    two = _enrich(**{**base, "steps_to_reproduce": "b" * 19_990 + "d" * 10})
    assert len(one.canonical_text) == MAX_CANONICAL_CHARS
    assert one.canonical_text == two.canonical_text
    assert one.content_sha256 != two.content_sha256


def test_envelope_of_another_task_is_rejected() -> None:
    churn = build_envelope(
        "churn",
        {
            "customer_id": "c-1",
            "tenure_months": 3,
            "monthly_charges": 20.0,
            "total_charges": 60.0,
            "contract": "month-to-month",
            "payment_method": "credit_card",
            "internet_service": "dsl",
            "senior_citizen": False,
            "has_partner": False,
            "has_dependents": False,
            "paperless_billing": True,
        },
    )
    result = enrich(churn)
    assert isinstance(result, Rejection)
    assert "ChurnPayload" in result.reason
    assert "BugReportPayload" in result.reason


@pytest.mark.parametrize(
    ("title", "description"),
    [
        pytest.param(" ", " ", id="spaces"),
        pytest.param("\t\r\n", "\r\n \r\n", id="newlines"),
        pytest.param("\u200b", "\x07\x1b", id="control-and-format-only"),
    ],
)
def test_title_and_description_empty_after_normalisation_is_rejected(
    title: str, description: str
) -> None:
    """The schema accepts these (min_length=1), but nothing is left after normalisation:
    enrich must reject them rather than hash an empty report (all of which would then
    collide on one hash). The canonical text is then just the "\n" joining two empty parts."""
    fields = {**FULL, "title": title, "description": description, "steps_to_reproduce": ""}
    result = enrich(build_envelope("bug_report", fields))
    assert isinstance(result, Rejection), f"not rejected: {result!r}"
    assert "empty after normalisation" in result.reason


def test_empty_title_with_description_is_enriched() -> None:
    result = _enrich(title=" ", steps_to_reproduce="")
    assert result.canonical_text.strip() == FULL["description"]
    assert "title_too_short" in result.quality_flags
