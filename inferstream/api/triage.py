"""The review queue and decisions on possible duplicates, as JSON routes under /v1/review.

Reading the queue needs a reader key; deciding needs a producer or admin key (the write rate
limit applies). A decision is stored (audited: key, name, time), published to
``feedback.bug_report`` and from then on overrides the model's verdict in the API's reads.
The web view's forms call ``record_decision`` too.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from inferstream.api.auth import Principal
from inferstream.api.context import ApiContext, Context, Producer, Reader
from inferstream.api.models import Review, ReviewDecision
from inferstream.api.problems import PROBLEM_RESPONSES, ProblemError
from inferstream.api.review import (
    MAX_NOTE,
    InvalidDecisionError,
    QueueItem,
    UnknownReportError,
    decide,
    decision_history,
    review_fields,
    review_queue,
)
from inferstream.api.review_feedback import (
    FeedbackPublisher,
    FeedbackUnavailableError,
    feedback_record,
)

router = APIRouter(prefix="/v1/review", responses=PROBLEM_RESPONSES, tags=["review"])
# A product filter: no stored product holds a NUL (Postgres text cannot), so a filter with one
# is refused (422) before it reaches the database, which would answer an error (a 500).
ProductFilter = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")]

SubmissionIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
_publisher_lock = threading.Lock()


class QueueEntry(BaseModel):
    submission_id: str
    title: str | None
    product: str | None
    component: str | None
    candidate_id: str | None = Field(description="the original the model proposes")
    candidate_title: str | None
    score: float | None = Field(description="the dedup profile's score of the candidate")
    created_at: datetime


class ReviewQueue(BaseModel):
    items: list[QueueEntry]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    original_id: Annotated[str, Field(max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    note: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class DecisionOut(BaseModel):
    review_id: int
    submission_id: str
    review: Review


class AuditEntry(Review):
    """A decision as the audit keeps it: the review, its id and the deciding key's prefix."""

    review_id: int
    decided_by_key: str


def _entry(item: QueueItem) -> QueueEntry:
    return QueueEntry(**item.__dict__)


def _publisher(ctx: ApiContext) -> FeedbackPublisher:
    """One producer per app context, kept on it (its Kafka settings are ingest's)."""
    kafka = getattr(ctx.ingest, "kafka", None)
    if kafka is None:
        raise ProblemError(503, "Kafka is not configured: decisions cannot be published")
    with _publisher_lock:
        publisher = getattr(ctx, "feedback_publisher", None)
        if not isinstance(publisher, FeedbackPublisher):
            publisher = FeedbackPublisher(kafka)
            setattr(ctx, "feedback_publisher", publisher)  # noqa: B010 (not a declared field)
        return publisher


def record_decision(
    ctx: ApiContext,
    submission_id: str,
    body: DecisionIn,
    caller: Principal,
) -> DecisionOut:
    """Store, publish, commit; problems for an unknown report, an unfit decision or a broker
    that does not take it (then nothing is stored)."""
    try:
        with ctx.db.connection() as conn, conn.transaction():
            review_id, review, model = decide(
                conn,
                submission_id,
                body.decision,
                original_id=body.original_id,
                note=body.note,
                caller=caller,
            )
            _publisher(ctx).publish(feedback_record(review_id, submission_id, review, model))
    except UnknownReportError:
        raise ProblemError(
            404, "no bug_report result with this submission id", slug="not-found"
        ) from None
    except InvalidDecisionError as err:
        raise ProblemError(422, str(err), slug="invalid") from None
    except FeedbackUnavailableError as err:
        raise ProblemError(
            503, f"the broker did not take the decision: {err}", slug="unavailable"
        ) from None
    return DecisionOut(review_id=review_id, submission_id=submission_id, review=review)


@router.get("/bug_report")
def get_queue(
    ctx: Context,
    _: Reader,
    product: ProductFilter = None,
    q: Annotated[str | None, Query(max_length=200, description="text search")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ReviewQueue:
    """Possible duplicates nobody has decided yet, newest first, with the proposed original;
    ``q`` searches their text (words, "a phrase", -excluded) or is a submission id."""
    with ctx.db.connection() as conn:
        items = review_queue(conn, product=product, text=(q or "").strip() or None, limit=limit)
    return ReviewQueue(items=[_entry(item) for item in items])


@router.post("/bug_report/{submission_id}", status_code=201)
def post_decision(
    submission_id: SubmissionIdPath, body: DecisionIn, ctx: Context, caller: Producer
) -> DecisionOut:
    """confirm (the model's original), not_duplicate, or other_original (with original_id)."""
    return record_decision(ctx, submission_id, body, caller)


@router.get("/bug_report/{submission_id}")
def get_decisions(submission_id: SubmissionIdPath, ctx: Context, _: Reader) -> list[AuditEntry]:
    """Every decision on this report, newest first (the latest is the one reads apply)."""
    with ctx.db.connection() as conn:
        rows = decision_history(conn, submission_id)
    return [_audit(row) for row in rows]


def _audit(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        review_id=row["id"], decided_by_key=row["decided_by_key"], **review_fields(row)
    )
