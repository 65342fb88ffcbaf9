"""SQL over results_bug_report, submissions and dead_letters (read-only)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector import Vector
from psycopg.rows import dict_row

from inferstream.api.cursor import SETTLED, Cursor, split_page
from inferstream.api.db import HNSW_EF_SEARCH
from inferstream.api.models import (
    BugReportResultOut,
    Neighbour,
    Rejection,
    SubmissionStatus,
)
from inferstream.api.review import with_reviews
from inferstream.api.task_results import NoResultsTableError, get_task_result
from inferstream.plugins.columns import BUG_REPORT
from inferstream.storage.vector_ranges import SeqRange, closed_ranges, open_from

# The columns served and the fields they fill, from the table's one declaration (the sink
# writes rows from the same one): every declared column the API model has (the embedding and
# the term map are not returned), plus the table's own created_at.
TABLE = BUG_REPORT.name
_DECLARED = [(c.name, c.source or c.name) for c in BUG_REPORT.all_columns]
_SERVED = (
    *((name, field) for name, field in _DECLARED if field in BugReportResultOut.model_fields),
    ("created_at", "created_at"),
)
_COLUMNS = ", ".join(name for name, _ in _SERVED)
_R_COLUMNS = ", ".join(f"r.{name}" for name, _ in _SERVED)
# char(64) columns: blank-padded by Postgres when shorter.
_PADDED = ("result_id", "content_sha256")


def _result(row: dict[str, Any]) -> BugReportResultOut:
    fields = {field: row[name] for name, field in _SERVED}
    for name in _PADDED:
        fields[name] = fields[name].strip()
    fields["similar"] = fields["similar"] or []
    return BugReportResultOut.model_validate(fields)


def get_result(conn: psycopg.Connection[Any], result_id: str) -> BugReportResultOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE result_id = %s", (result_id,))
        row = cur.fetchone()
    return None if row is None else with_reviews(conn, [_result(row)])[0]


def list_results(
    conn: psycopg.Connection[Any],
    *,
    after: Cursor | None,
    since: datetime | None,
    status: str | None,
    low_quality: bool | None,
    limit: int,
) -> tuple[list[BugReportResultOut], Cursor | None, bool]:
    """Up to ``limit`` settled rows after the cursor in (txid, seq) order, the cursor of the
    last one, and whether more follow. A keyset predicate on an index: no OFFSET."""
    where: list[str] = [SETTLED]
    params: list[Any] = []
    if after is not None:
        where.append("(txid, seq) > (%s::xid8, %s)")
        params += [str(after.txid), after.seq]
    if since is not None:
        where.append("created_at >= %s")
        params.append(since)
    if status is not None:
        where.append("duplicate_status = %s")
        params.append(status)
    if low_quality is not None:
        where.append("low_quality = %s")
        params.append(low_quality)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {_COLUMNS}, txid::text AS txid_text, seq FROM {TABLE} "
            f"WHERE {' AND '.join(where)} ORDER BY txid, seq LIMIT %s",
            [*params, limit + 1],
        )
        rows = cur.fetchall()
    page, last, more = split_page(rows, limit)
    # A reviewer's decision shows in place of the model's verdict (the status filter above
    # selects on the model's).
    return with_reviews(conn, [_result(row) for row in page]), last, more


def nearest(
    conn: psycopg.Connection[Any],
    query: npt.NDArray[np.float32],
    k: int,
    *,
    exclude_result_id: str | None = None,
) -> list[Neighbour]:
    """Cosine kNN over every row: the k best of each closed seq range (its partial HNSW index,
    approximate, ef_search raised for recall) and of the open tail (exact scan, so the newest
    rows are always found), merged."""
    exclude = " AND r.result_id <> %(exclude)s" if exclude_result_id is not None else ""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SET LOCAL hnsw.ef_search = {HNSW_EF_SEARCH}")
        cur.execute(
            nearest_sql(closed_ranges(conn, TABLE), exclude),
            {"q": query, "k": k, "exclude": exclude_result_id},
        )
        rows = cur.fetchall()
    results = with_reviews(conn, [_result(row) for row in rows])
    return [
        Neighbour(score=1.0 - float(row["distance"]), result=result)
        for row, result in zip(rows, results, strict=True)
    ]


def nearest_sql(closed: list[SeqRange], exclude: str) -> str:
    """One branch per closed range (its WHERE matches the partial index's predicate, so the
    planner can walk that HNSW graph) plus one for the open tail, merged by distance."""
    wheres = [seq_range.where("r") for seq_range in closed]
    wheres.append(f"r.seq >= {open_from(closed)}")
    branches = [
        f"(SELECT {_R_COLUMNS}, r.embedding <=> %(q)s AS distance FROM {TABLE} r "
        f"WHERE {where}{exclude} ORDER BY r.embedding <=> %(q)s LIMIT %(k)s)"
        for where in wheres
    ]
    return f"SELECT * FROM ({' UNION ALL '.join(branches)}) u ORDER BY distance LIMIT %(k)s"


def embedding_of(conn: psycopg.Connection[Any], result_id: str) -> npt.NDArray[np.float32] | None:
    row = conn.execute(
        f"SELECT embedding FROM {TABLE} WHERE result_id = %s", (result_id,)
    ).fetchone()
    if row is None:
        return None
    value = row[0]
    array = value.to_numpy() if isinstance(value, Vector) else value
    return np.asarray(array, dtype=np.float32)


def submission_status(conn: psycopg.Connection[Any], submission_id: str) -> SubmissionStatus:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT task, status, result_id, reason, created_at, updated_at "
            "FROM submissions WHERE submission_id = %s",
            (submission_id,),
        )
        row = cur.fetchone()
        if row is None:
            return SubmissionStatus(submission_id=submission_id, status="unknown")
        status = SubmissionStatus(
            submission_id=submission_id,
            status=row["status"],
            task=row["task"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            result_id=row["result_id"].strip() if row["result_id"] else None,
            reason=row["reason"],
        )
        if status.status == "done" and status.result_id and status.task == "bug_report":
            status.result = get_result(conn, status.result_id)
        elif status.status == "done" and status.result_id and status.task:
            with contextlib.suppress(NoResultsTableError):
                status.result = get_task_result(conn, status.task, status.result_id)
        if status.status == "rejected":
            cur.execute(
                "SELECT stage, kind, reason, created_at FROM dead_letters "
                "WHERE submission_id = %s ORDER BY created_at, id LIMIT 20",
                (submission_id,),
            )
            status.rejections = [
                Rejection(stage=r["stage"], kind=r["kind"], reason=r["reason"], at=r["created_at"])
                for r in cur.fetchall()
            ]
    return status
