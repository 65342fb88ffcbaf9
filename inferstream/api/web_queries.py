"""The web view's reads: filtered report lists, any task's latest rows, the pipeline's last hour.

Read-only SQL over the results tables (declared once in ``inferstream.plugins.columns``),
``bug_report_reviews`` (a reviewer's latest decision replaces the model's verdict here too),
``submissions`` and ``dead_letters``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from inferstream.api.queries import embedding_of, nearest
from inferstream.api.report_search import MATCH, match_params
from inferstream.plugins.columns import TABLES

LIST_LIMIT = 50
PRODUCTS_SCANNED = 2000  # the product filter offers the products of this many latest reports
# The decision that counts, as the effective status and original of a report ``r``.
_LATEST_REVIEW = (
    "LEFT JOIN LATERAL (SELECT decision, original_id FROM bug_report_reviews v "
    "WHERE v.submission_id = r.submission_id ORDER BY decided_at DESC, id DESC LIMIT 1) v ON true"
)
_STATUS = (
    "CASE WHEN v.decision IS NULL THEN r.duplicate_status "
    "WHEN v.decision = 'not_duplicate' THEN 'unique' ELSE 'duplicate' END"
)
_ORIGINAL = "CASE WHEN v.decision IS NULL THEN r.duplicate_of ELSE v.original_id END"


@dataclass(frozen=True)
class Related:
    submission_id: str
    score: float
    relation: str  # "duplicate of", "similar at inference", "nearest now", ...


@dataclass(frozen=True)
class ReportFilter:
    product: str | None = None
    status: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class ReportRow:
    submission_id: str
    title: str | None
    product: str | None
    component: str | None
    status: str
    reviewed: bool
    original_id: str | None
    original_title: str | None
    quality_score: float
    low_quality: bool
    created_at: datetime


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def bug_reports(conn: psycopg.Connection[Any], filters: ReportFilter) -> list[ReportRow]:
    """The latest reports matching the filters (status: as reviewed, else the model's)."""
    where: list[str] = []
    params: list[Any] = []
    if filters.product:
        where.append("r.product = %s")
        params.append(filters.product)
    if filters.status:
        where.append(f"{_STATUS} = %s")
        params.append(filters.status)
    if filters.text:
        where.append(MATCH)
        params += match_params(filters.text)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT r.submission_id, r.title, r.product, r.component, {_STATUS} AS status, "
            f"v.decision IS NOT NULL AS reviewed, {_ORIGINAL} AS original_id, o.title AS "
            "original_title, r.quality_score, r.low_quality, r.created_at "
            f"FROM results_bug_report r {_LATEST_REVIEW} "
            f"LEFT JOIN results_bug_report o ON o.submission_id = {_ORIGINAL} "
            f"{clause} ORDER BY r.created_at DESC, r.result_id DESC LIMIT %s",
            [*params, LIST_LIMIT],
        )
        return [ReportRow(**row) for row in cur.fetchall()]


def products(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT product FROM (SELECT product FROM results_bug_report "
        "ORDER BY created_at DESC LIMIT %s) s WHERE product IS NOT NULL ORDER BY 1",
        (PRODUCTS_SCANNED,),
    ).fetchall()
    return [row[0] for row in rows]


def task_columns(task: str) -> list[str]:
    """What a task's list shows: the submission, its own declared columns (no vectors), when."""
    own = [c.name for c in TABLES[task].own if c.pg_type != "vector"]
    return ["submission_id", *own, "created_at"]


def task_rows(conn: psycopg.Connection[Any], task: str, text: str | None) -> list[dict[str, Any]]:
    """A task's latest rows, optionally those whose submission id starts with ``text``."""
    columns = task_columns(task)
    where, params = sql.SQL(""), list[Any]([LIST_LIMIT])
    if text:
        where = sql.SQL("WHERE submission_id LIKE %s ")
        params = [_like(text)[1:], LIST_LIMIT]
    query = sql.SQL("SELECT {} FROM {} {}ORDER BY created_at DESC, result_id DESC LIMIT %s").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Identifier(TABLES[task].name),
        where,
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


@dataclass(frozen=True)
class Minute:
    """One minute of the last hour (``at`` minutes ago, 59 .. 0)."""

    ago: int
    results: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    sink_lag_s: float | None
    dead_letters: int


def last_hour(conn: psycopg.Connection[Any]) -> list[Minute]:
    """Per minute over the last hour: results written (every task), end-to-end latency
    (submitted -> row written) p50/p95, the sink's lag (result produced -> row written, worst
    of the minute) and dead letters. Tables not migrated yet are skipped."""
    present = [
        t.name
        for t in TABLES.values()
        if conn.execute("SELECT to_regclass(%s)", (t.name,)).fetchone() != (None,)
    ]
    union = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT created_at, submitted_at, produced_at FROM {} "
            "WHERE created_at >= now() - interval '1 hour'"
        ).format(sql.Identifier(name))
        for name in present
    )
    query = sql.SQL(
        "WITH rows AS ({union}), minutes AS (SELECT generate_series(0, 59) AS ago), "
        "r AS (SELECT floor(extract(epoch FROM now() - created_at) / 60)::int AS ago, count(*) "
        "AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - "
        "submitted_at)) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch "
        "FROM created_at - submitted_at)) AS p95, max(extract(epoch FROM created_at - "
        "produced_at)) AS lag FROM rows GROUP BY 1), "
        "d AS (SELECT floor(extract(epoch FROM now() - created_at) / 60)::int AS ago, count(*) "
        "AS n FROM dead_letters WHERE created_at >= now() - interval '1 hour' GROUP BY 1) "
        "SELECT m.ago, coalesce(r.n, 0), r.p50, r.p95, r.lag, coalesce(d.n, 0) FROM minutes m "
        "LEFT JOIN r ON r.ago = m.ago LEFT JOIN d ON d.ago = m.ago ORDER BY m.ago DESC"
    ).format(union=union)
    return [
        Minute(int(a), int(n), _f(p50), _f(p95), _f(lag), int(dl))
        for a, n, p50, p95, lag, dl in conn.execute(query).fetchall()
    ]


def _f(value: Any) -> float | None:
    return None if value is None else max(0.0, float(value))


def related_reports(conn: psycopg.Connection[Any], document: Mapping[str, Any]) -> list[Related]:
    """Its duplicate, the candidates recorded at inference, later reports filed as its
    duplicates, and its nearest neighbours now (pgvector), each once, with cosine scores."""
    result = document.get("result") or {}
    own = document["submission_id"]
    related: list[Related] = []
    seen = {own}

    def add(submission_id: str | None, score: float, relation: str) -> None:
        if submission_id and submission_id not in seen:
            seen.add(submission_id)
            related.append(Related(submission_id, score, relation))

    # The cosine behind each candidate (profile seed stores only the score, which is the cosine).
    similar = {
        item["submission_id"]: item["score"] if item.get("cosine") is None else item["cosine"]
        for item in result.get("similar", [])
    }
    duplicate_of = result.get("duplicate_of")
    if duplicate_of:
        add(duplicate_of, similar.get(duplicate_of, float("nan")), "duplicate of")
    for submission_id, score in similar.items():
        add(submission_id, score, "similar at inference")
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT r.submission_id, 1 - (r.embedding <=> o.embedding) AS score "
            "FROM results_bug_report r JOIN results_bug_report o ON o.submission_id = %s "
            "WHERE r.duplicate_of = %s ORDER BY score DESC LIMIT 20",
            (own, own),
        )
        for row in cur.fetchall():
            add(row["submission_id"], float(row["score"]), "filed as its duplicate")
    query = embedding_of(conn, result["result_id"]) if result.get("result_id") else None
    if query is not None:
        for neighbour in nearest(conn, query, 5, exclude_result_id=result["result_id"]):
            add(neighbour.result.submission_id, neighbour.score, "nearest now")
    return related
