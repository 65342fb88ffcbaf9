"""Duplicate triage over Postgres: the review queue, decisions, and their override in reads.

A decision is a row of ``bug_report_reviews`` (migration 0013), never updated: the table is
the audit trail (who, when, what the model had said). The latest decision of a submission
counts; reads (``with_reviews``) then show the reviewer's status and original in place of the
model's, and the model's own verdict under ``review``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from inferstream.api.auth import Principal
from inferstream.api.models import BugReportResultOut, DuplicateStatus, Review, ReviewDecision
from inferstream.api.report_search import MATCH, match_params

MAX_NOTE = 2000
# What each decision makes of the report, as reads show it.
_STATUS: dict[str, DuplicateStatus] = {
    "confirm": "duplicate",
    "other_original": "duplicate",
    "not_duplicate": "unique",
}


class InvalidDecisionError(ValueError):
    """The decision does not fit the report (no candidate to confirm, unknown original...)."""


class UnknownReportError(LookupError):
    """No stored bug_report result has this submission id."""


@dataclass(frozen=True)
class QueueItem:
    """An undecided possible duplicate and the original the model proposes."""

    submission_id: str
    title: str | None
    product: str | None
    component: str | None
    candidate_id: str | None
    candidate_title: str | None
    score: float | None
    created_at: datetime


def review_queue(
    conn: psycopg.Connection[Any],
    *,
    product: str | None = None,
    text: str | None = None,
    limit: int = 50,
) -> list[QueueItem]:
    """Possible duplicates nobody has decided yet, newest first (those of a product, or whose
    text matches a search, when asked)."""
    where, params = "", list[Any]()
    if product:
        where, params = " AND r.product = %s", [product]
    if text:
        where, params = f"{where} AND {MATCH}", [*params, *match_params(text)]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT r.submission_id, r.title, r.product, r.component, r.created_at, "
            "coalesce(r.duplicate_of, r.similar_items->0->>'submission_id') AS candidate_id, "
            "(r.similar_items->0->>'score')::float8 AS score "
            "FROM results_bug_report r WHERE r.duplicate_status = 'possible_duplicate' "
            "AND NOT EXISTS (SELECT 1 FROM bug_report_reviews v "
            f"WHERE v.submission_id = r.submission_id){where} "
            "ORDER BY r.created_at DESC LIMIT %s",
            [*params, limit],
        )
        rows = cur.fetchall()
    titles = _titles(conn, [row["candidate_id"] for row in rows if row["candidate_id"]])
    return [
        QueueItem(
            submission_id=row["submission_id"],
            title=row["title"],
            product=row["product"],
            component=row["component"],
            candidate_id=row["candidate_id"],
            candidate_title=titles.get(row["candidate_id"]),
            score=row["score"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def _titles(conn: psycopg.Connection[Any], ids: Sequence[str]) -> dict[str, str | None]:
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT submission_id, title FROM results_bug_report WHERE submission_id = ANY(%s)",
        (list(ids),),
    ).fetchall()
    return dict(rows)


def decide(
    conn: psycopg.Connection[Any],
    submission_id: str,
    decision: ReviewDecision,
    *,
    original_id: str | None,
    note: str,
    caller: Principal,
) -> tuple[int, Review, dict[str, Any]]:
    """Store a decision (in the caller's transaction); the review id, the decision as reads
    show it, and the model's verdict fields the feedback record carries."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT duplicate_status, duplicate_of, similar_items, dedup_profile, "
            "dedup_profile_version FROM results_bug_report WHERE submission_id = %s",
            (submission_id,),
        )
        model = cur.fetchone()
    if model is None:
        raise UnknownReportError(submission_id)
    original = _original(conn, submission_id, decision, original_id, model)
    row = conn.execute(
        "INSERT INTO bug_report_reviews (submission_id, decision, original_id, model_status, "
        "model_duplicate_of, note, decided_by_key, decided_by_name) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, decided_at",
        (
            submission_id,
            decision,
            original,
            model["duplicate_status"],
            model["duplicate_of"],
            note[:MAX_NOTE],
            caller.key_prefix,
            caller.name,
        ),
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    review = Review(
        decision=decision,
        original_id=original,
        model_status=model["duplicate_status"],
        model_duplicate_of=model["duplicate_of"],
        note=note[:MAX_NOTE],
        decided_by=caller.name,
        decided_at=row[1],
    )
    return int(row[0]), review, model


def _original(
    conn: psycopg.Connection[Any],
    submission_id: str,
    decision: ReviewDecision,
    original_id: str | None,
    model: dict[str, Any],
) -> str | None:
    """The original a decision settles on, checked against the stored reports."""
    if decision == "not_duplicate":
        if original_id:
            raise InvalidDecisionError("not_duplicate takes no original_id")
        return None
    if decision == "confirm":
        similar = model["similar_items"] or []
        proposed = model["duplicate_of"] or (similar[0]["submission_id"] if similar else None)
        if proposed is None:
            raise InvalidDecisionError("the model proposed no original to confirm")
        if original_id and original_id != proposed:
            raise InvalidDecisionError(
                f"the model proposed {proposed}; use other_original to pick another"
            )
        return str(proposed)
    if not original_id:
        raise InvalidDecisionError("other_original needs original_id")
    if original_id == submission_id:
        raise InvalidDecisionError("a report cannot be its own original")
    known = conn.execute(
        "SELECT 1 FROM results_bug_report WHERE submission_id = %s", (original_id,)
    ).fetchone()
    if known is None:
        raise InvalidDecisionError(f"no bug_report result {original_id}")
    return original_id


def latest_reviews(conn: psycopg.Connection[Any], ids: Sequence[str]) -> dict[str, Review]:
    """The latest decision of each submission that has one."""
    if not ids:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT DISTINCT ON (submission_id) submission_id, decision, original_id, "
            "model_status, model_duplicate_of, note, decided_by_name, decided_at "
            "FROM bug_report_reviews WHERE submission_id = ANY(%s) "
            "ORDER BY submission_id, decided_at DESC, id DESC",
            (list(ids),),
        )
        rows = cur.fetchall()
    return {row["submission_id"]: Review(**review_fields(row)) for row in rows}


def review_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``bug_report_reviews`` row as the fields of ``Review`` (the decider by key name)."""
    return {
        "decision": row["decision"],
        "original_id": row["original_id"],
        "model_status": row["model_status"],
        "model_duplicate_of": row["model_duplicate_of"],
        "note": row["note"],
        "decided_by": row["decided_by_name"],
        "decided_at": row["decided_at"],
    }


def overridden(result: BugReportResultOut, review: Review) -> BugReportResultOut:
    """The result as a read shows it once a reviewer has decided."""
    return result.model_copy(
        update={
            "review": review,
            "duplicate_status": _STATUS[review.decision],
            "duplicate_of": review.original_id,
        }
    )


def with_reviews(
    conn: psycopg.Connection[Any], results: Sequence[BugReportResultOut]
) -> list[BugReportResultOut]:
    """Each result with its latest decision applied (one query for the lot)."""
    reviews = latest_reviews(conn, [r.submission_id for r in results])
    return [
        overridden(r, reviews[r.submission_id]) if r.submission_id in reviews else r
        for r in results
    ]


def decision_history(conn: psycopg.Connection[Any], submission_id: str) -> list[dict[str, Any]]:
    """Every decision on a submission, newest first (the audit trail)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, decision, original_id, model_status, model_duplicate_of, note, "
            "decided_by_key, decided_by_name, decided_at FROM bug_report_reviews "
            "WHERE submission_id = %s ORDER BY decided_at DESC, id DESC LIMIT 50",
            (submission_id,),
        )
        return list(cur.fetchall())
