"""Response and request bodies of the results API (the OpenAPI schema is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DuplicateStatus = Literal["unique", "possible_duplicate", "duplicate"]
SubmissionState = Literal["processing", "done", "rejected", "unknown"]


class SimilarReport(BaseModel):
    submission_id: str
    score: float = Field(description="the dedup profile's score (the cosine for profile seed)")
    cosine: float | None = Field(default=None, description="MiniLM cosine similarity")


ReviewDecision = Literal["confirm", "not_duplicate", "other_original"]


class Review(BaseModel):
    """A reviewer's decision on a possible duplicate (stored with who and when)."""

    decision: ReviewDecision
    original_id: str | None = Field(description="the original settled on; null: not a duplicate")
    model_status: DuplicateStatus
    model_duplicate_of: str | None
    note: str = ""
    decided_by: str = Field(description="the deciding API key's name (prefix in the audit)")
    decided_at: datetime


class BugReportResultOut(BaseModel):
    """One stored bug_report result (the embedding is not returned)."""

    task: Literal["bug_report"] = "bug_report"
    result_id: str
    submission_id: str
    model_name: str
    model_version: str
    tokenizer_version: str | None
    quality_score: float
    quality_flags: list[str]
    low_quality: bool
    duplicate_status: DuplicateStatus
    duplicate_of: str | None
    similar: list[SimilarReport]
    content_sha256: str
    product: str | None = None
    component: str | None = None
    dedup_profile: str | None = Field(default=None, description="profile that decided the status")
    dedup_profile_version: str | None = None
    title: str | None = None
    description: str | None = Field(default=None, description="an excerpt (4,000 characters)")
    steps_to_reproduce: str | None = None
    logs: str | None = None
    review: Review | None = Field(
        default=None,
        description="the latest reviewer decision; when present, duplicate_status and "
        "duplicate_of are the reviewer's and review.model_status the model's",
    )
    produced_at: datetime
    submitted_at: datetime | None
    created_at: datetime


class ResultPage(BaseModel):
    """A page in commit order. ``next_cursor`` continues after the last item (also when
    ``has_more`` is false: poll it later for rows added since)."""

    items: list[BugReportResultOut]
    next_cursor: str | None
    has_more: bool


class TaskResultOut(BaseModel):
    """One stored result of any task: the common fields and, besides them, the task's own
    result columns as stored (see the task's result schema)."""

    model_config = ConfigDict(extra="allow")

    task: str
    result_id: str
    submission_id: str
    produced_at: datetime
    created_at: datetime


class TaskResultPage(BaseModel):
    """A page of any task's results in commit order (see ``ResultPage``)."""

    items: list[TaskResultOut]
    next_cursor: str | None
    has_more: bool


class Neighbour(BaseModel):
    score: float = Field(description="cosine similarity to the query, 1 = same direction")
    result: BugReportResultOut


class NeighbourList(BaseModel):
    k: int
    items: list[Neighbour]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    k: Annotated[int, Field(ge=1, le=50)] = 10


class Rejection(BaseModel):
    stage: str
    kind: str
    reason: str
    at: datetime


class SubmissionStatus(BaseModel):
    submission_id: str
    status: SubmissionState
    task: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    result_id: str | None = None
    result: BugReportResultOut | TaskResultOut | None = None
    reason: str | None = None
    rejections: list[Rejection] = Field(default_factory=list)


class KeyOut(BaseModel):
    key_prefix: str
    name: str
    role: str
    status: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class Health(BaseModel):
    status: Literal["ok"] = "ok"
