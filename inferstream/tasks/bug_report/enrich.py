"""bug_report enrichment: quality verdict, canonical text and its hash (pure)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from inferstream.plugins import Rejection
from inferstream.schemas import BugReportPayload, Envelope
from inferstream.schemas.fast import trusted
from inferstream.tasks.bug_report.quality import (
    NormalisedFields,
    QualityPolicy,
    assess,
    canonical_text,
    content_sha256,
)

MAX_CANONICAL_CHARS = 40_000
SEED_POLICY = QualityPolicy()


class BugReportEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canonical_text: Annotated[str, Field(min_length=1, max_length=MAX_CANONICAL_CHARS)]
    content_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    quality_score: Annotated[float, Field(ge=0, le=1)]
    quality_flags: list[str]
    low_quality: bool
    product: str
    component: str


def enrich(
    envelope: Envelope[Any], policy: QualityPolicy = SEED_POLICY
) -> BugReportEnrichment | Rejection:
    payload = envelope.payload
    if not isinstance(payload, BugReportPayload):
        return Rejection(f"payload is {type(payload).__name__}, expected BugReportPayload")
    fields = NormalisedFields(payload)
    if not (fields("title") or fields("description")):
        return Rejection("title and description are empty after normalisation")
    text = canonical_text(payload, fields)
    verdict = assess(payload, policy, fields)
    # Built without validating it again (2.4 -> 0.9 us per report): every value is in bounds
    # by construction (a non-empty text cut to the maximum, a SHA-256 hex digest, a score
    # clamped to [0, 1], the validated payload's strings); the tests validate what is built.
    return trusted(
        BugReportEnrichment,
        {
            "canonical_text": text[:MAX_CANONICAL_CHARS],
            "content_sha256": content_sha256(text),
            "quality_score": verdict.score,
            "quality_flags": list(verdict.flags),
            "low_quality": verdict.low_quality,
            "product": payload.product,
            "component": payload.component,
        },
    )
