"""bug_report: quality gate + duplicate detection for incoming bug reports."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from .._base import FiniteFloat, Probability, Sha256Hex, SubmissionId, WireModel
from ..result import ResultBase

__all__ = ["BugReportPayload", "BugReportResult", "DuplicateStatus", "SimilarReport"]

DuplicateStatus = Literal["unique", "possible_duplicate", "duplicate"]


class BugReportPayload(WireModel):
    """A bug report as filed; missing optional sections are scored by the quality gate."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "bug_report"

    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Annotated[str, Field(min_length=1, max_length=20_000)]
    steps_to_reproduce: Annotated[str, Field(max_length=20_000)] = ""
    logs: Annotated[str, Field(max_length=100_000)] = ""
    product: Annotated[str, Field(min_length=1, max_length=100)]
    component: Annotated[str, Field(max_length=100)] = ""
    reporter: Annotated[str, Field(max_length=200)] = ""


# How much of each long text field a bug_report result keeps (description, steps, logs).
EXCERPT_CHARS = 4000


class SimilarReport(WireModel):
    """A previously seen report and its dedup score against this one (the profile's score)."""

    model_config = ConfigDict(extra="forbid")

    submission_id: SubmissionId
    score: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
    # The MiniLM cosine behind the score (absent on older results, where score is the cosine).
    cosine: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)] | None = None


class BugReportResult(ResultBase):
    """Quality score and dedup verdict: the profile's score of the best candidate against its
    duplicate / possible bands (profile ``seed``: cosine >= 0.85 / >= 0.70), see docs/dedup.md.
    ``similar[].score`` is that profile score (the cosine for ``seed``).

    ``duplicate_of`` is required when ``duplicate_status == "duplicate"``, optional for
    ``"possible_duplicate"`` and must be ``None`` for ``"unique"``.
    """

    model_config = ConfigDict(extra="forbid")

    task: Literal["bug_report"] = "bug_report"
    quality_score: Probability
    quality_flags: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=32)
    ] = Field(default_factory=list)
    low_quality: bool
    duplicate_status: DuplicateStatus
    duplicate_of: SubmissionId | None = None
    similar: Annotated[list[SimilarReport], Field(max_length=50)] = Field(default_factory=list)
    content_sha256: Sha256Hex
    embedding: Annotated[list[FiniteFloat], Field(max_length=4096)] | None = None
    tokenizer_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Dedup: the profile (name, version) that decided duplicate_status, and what the next
    # reports are compared with: product, component and the term frequencies of title,
    # description and steps (the lexical index is rebuilt from these). Absent before migration 0007.
    dedup_profile: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    dedup_profile_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    product: Annotated[str, Field(max_length=100)] | None = None
    component: Annotated[str, Field(max_length=100)] | None = None
    dedup_terms: (
        Annotated[
            dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[int, Field(ge=1)]],
            Field(max_length=400),
        ]
        | None
    ) = None
    # The report's own text, each field cut to an excerpt (EXCERPT_CHARS; the title whole), so
    # a reviewer reads two reports side by side without the submissions topic. Absent on rows
    # written before the triage view.
    title: Annotated[str, Field(max_length=300)] | None = None
    description: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None
    steps_to_reproduce: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None
    logs: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None

    @model_validator(mode="after")
    def _duplicate_of_consistent(self) -> BugReportResult:
        if self.duplicate_status == "duplicate" and self.duplicate_of is None:
            raise ValueError("duplicate_of is required when duplicate_status is 'duplicate'")
        if self.duplicate_status == "unique" and self.duplicate_of is not None:
            raise ValueError("duplicate_of must be null when duplicate_status is 'unique'")
        return self
