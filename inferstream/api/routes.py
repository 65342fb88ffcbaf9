"""The /v1 routes: submission status, results, similar items, text search, key admin."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator

from inferstream.api.context import AdminRead, AdminWrite, Context, Reader
from inferstream.api.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor
from inferstream.api.keys import KeyRecord, UnknownKeyError, list_keys, revoke_key, utcnow
from inferstream.api.model_results import result_by_id, version_result
from inferstream.api.models import (
    BugReportResultOut,
    DuplicateStatus,
    KeyOut,
    NeighbourList,
    ResultPage,
    SearchRequest,
    SubmissionStatus,
    TaskResultOut,
    TaskResultPage,
)
from inferstream.api.problems import PROBLEM_RESPONSES, ProblemError
from inferstream.api.queries import (
    embedding_of,
    get_result,
    list_results,
    nearest,
    submission_status,
)
from inferstream.api.search import ModelUnavailableError
from inferstream.api.task_results import (
    NoResultsTableError,
    get_task_result,
    list_task_results,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_K = 50

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

ResultId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="64 lowercase hex characters")
]
TaskPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="a task name")]
SubmissionIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


def _key_out(record: KeyRecord, now: datetime) -> KeyOut:
    return KeyOut(
        key_prefix=record.key_prefix,
        name=record.name,
        role=record.role.name,
        status=record.status(now),
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        last_used_at=record.last_used_at,
    )


def _not_found(what: str) -> ProblemError:
    return ProblemError(404, f"no {what}", slug="not-found")


def _after(cursor: str | None) -> Cursor | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursorError as err:
        raise ProblemError(400, str(err), slug="invalid-cursor") from None


def _iso_only(value: object) -> object:
    """pydantic reads a bare number as a Unix time; the schema says date-time, so only an
    ISO 8601 text (a date first) is accepted."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-12-06T09:30:00Z")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
Since = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(description="created_at >= since (ISO 8601 with a timezone offset)"),
]


def _check_since(since: datetime | None) -> None:
    if since is not None and since.tzinfo is None:
        raise ProblemError(400, "since must include a timezone offset", slug="invalid-since")


@router.get("/submissions/{submission_id}", tags=["submissions"])
def get_submission(submission_id: SubmissionIdPath, ctx: Context, _: Reader) -> SubmissionStatus:
    """Durable status of a submission: processing, done (with its result), rejected (with the
    dead-letter reasons) or unknown (not seen by the sink yet, or never submitted)."""
    with ctx.db.connection() as conn:
        return submission_status(conn, submission_id)


@router.get("/results/bug_report", tags=["results"])
def list_bug_reports(
    ctx: Context,
    _: Reader,
    since: Since = None,
    status: Annotated[DuplicateStatus | None, Query(description="duplicate status")] = None,
    low_quality: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ResultPage:
    """bug_report results in commit order, a page at a time (keyset pagination)."""
    after = _after(cursor)
    _check_since(since)
    with ctx.db.connection() as conn:
        items, last, more = list_results(
            conn, after=after, since=since, status=status, low_quality=low_quality, limit=limit
        )
    next_cursor = encode_cursor(last) if last is not None else cursor
    return ResultPage(items=items, next_cursor=next_cursor, has_more=more)


@router.get("/results/bug_report/{result_id}", tags=["results"])
def get_bug_report(result_id: ResultId, ctx: Context, _: Reader) -> BugReportResultOut:
    with ctx.db.connection() as conn:
        result = get_result(conn, result_id)
    if result is None:
        raise _not_found("bug_report result with this id")
    return result


@router.get("/results/bug_report/{result_id}/similar", tags=["results"])
def similar_bug_reports(
    result_id: ResultId,
    ctx: Context,
    _: Reader,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
) -> NeighbourList:
    """The k stored reports nearest to this one by cosine similarity (pgvector HNSW)."""
    with ctx.db.connection(vectors=True) as conn:
        query = embedding_of(conn, result_id)
        if query is None:
            raise _not_found("bug_report result with this id")
        items = nearest(conn, query, k, exclude_result_id=result_id)
    return NeighbourList(k=k, items=items)


@router.post("/search/bug_report", tags=["search"])
def search_bug_reports(body: SearchRequest, ctx: Context, _: Reader) -> NeighbourList:
    """Embed the text with the pipeline's MiniLM bundle and return the k nearest reports."""
    try:
        query = ctx.embed(body.text)
    except ModelUnavailableError as err:
        raise ProblemError(503, str(err), slug="model-unavailable") from None
    with ctx.db.connection(vectors=True) as conn:
        items = nearest(conn, query, body.k)
    return NeighbourList(k=body.k, items=items)


@router.get("/results/{task}", tags=["results"])
def list_task_results_route(
    task: TaskPath,
    ctx: Context,
    _: Reader,
    since: Since = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TaskResultPage:
    """Any task's results in commit order, a page at a time (bug_report has its own route
    above, with its filters)."""
    after = _after(cursor)
    _check_since(since)
    try:
        with ctx.db.connection() as conn:
            items, last, more = list_task_results(conn, task, after=after, since=since, limit=limit)
    except NoResultsTableError as err:
        raise ProblemError(404, str(err), slug="not-found") from None
    next_cursor = encode_cursor(last) if last is not None else cursor
    return TaskResultPage(items=items, next_cursor=next_cursor, has_more=more)


@router.get("/results/{task}/{result_id}", tags=["results"])
def get_task_result_route(
    task: TaskPath,
    result_id: ResultId,
    ctx: Context,
    _: Reader,
    version: Annotated[
        str | None,
        Query(
            max_length=128,
            description="Another model version's result of the same submission (a shadow "
            "run's or a backfill's, with its kind); without it, the result this id names",
        ),
    ] = None,
) -> TaskResultOut:
    """A result by id: the served one (the task's results table), or a shadow/backfill one."""
    try:
        with ctx.db.connection() as conn:
            result = get_task_result(conn, task, result_id) or result_by_id(conn, task, result_id)
            if result is not None and version is not None:
                served = (result.model_extra or {}).get("model_version")
                if served != version:
                    result = version_result(conn, task, result.submission_id, version)
    except NoResultsTableError as err:
        raise ProblemError(404, str(err), slug="not-found") from None
    if result is None:
        raise _not_found(
            f"{task} result with this id" + (f" and version {version}" if version else "")
        )
    return result


@router.get("/admin/keys", tags=["admin"])
def admin_list_keys(ctx: Context, _: AdminRead) -> list[KeyOut]:
    """Every API key's metadata (never a secret or a hash)."""
    now = utcnow()
    with ctx.db.connection() as conn:
        records = list_keys(conn)
    return [_key_out(r, now) for r in records]


@router.post("/admin/keys/{key_prefix}/revoke", tags=["admin"])
def admin_revoke_key(
    key_prefix: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")],
    ctx: Context,
    _: AdminWrite,
) -> KeyOut:
    """Revoke a key now: at once on this replica, within the key cache TTL on the others."""
    try:
        with ctx.db.connection() as conn:
            record = revoke_key(conn, key_prefix)
    except UnknownKeyError:
        raise _not_found("API key with this prefix") from None
    ctx.verifier.invalidate(key_prefix)
    return _key_out(record, utcnow())
