"""Results of any task, read generically from its ``results_<task>`` table.

Every results table follows one contract (migrations 0002-0006): ``result_id``,
``submission_id``, ``produced_at``, ``created_at`` and the commit-order columns ``txid``/``seq``
(migration 0003). The row is returned as its JSON document, without the vectors and bookkeeping
columns, so a new task is served without code here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from inferstream.api.cursor import SETTLED, Cursor, split_page
from inferstream.api.models import TaskResultOut
from inferstream.plugins.columns import TABLES
from inferstream.schemas import TASKS

# Columns never returned: vectors (from the tables' declarations) are large and served by
# /similar; txid and seq are bookkeeping.
_VECTORS = {c.name for t in TABLES.values() for c in t.all_columns if c.pg_type == "vector"}
_HIDDEN = (*sorted(_VECTORS), "txid", "seq")


class NoResultsTableError(LookupError):
    """The task is unknown, or its results table does not exist (migrations not applied)."""


def results_table(conn: psycopg.Connection[Any], task: str) -> sql.Identifier:
    """The table of a known task, checked to exist; the name never comes from the request
    unvalidated."""
    if task not in TASKS:
        known = ", ".join(sorted(TASKS))
        raise NoResultsTableError(f"unknown task {task!r} (known: {known})")
    name = f"results_{task}"
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    if row is None or not row[0]:
        raise NoResultsTableError(f"task {task!r} has no results table on this database")
    return sql.Identifier(name)


def _document(task: str, row: dict[str, Any]) -> TaskResultOut:
    document: dict[str, Any] = dict(row["doc"])
    document["result_id"] = str(document["result_id"]).strip()
    return TaskResultOut.model_validate({**document, "task": task})


def _select(table: sql.Identifier) -> sql.Composed:
    hidden = sql.SQL(" - ").join(sql.Literal(c) for c in _HIDDEN)
    return sql.SQL(
        "SELECT to_jsonb(t) - {} AS doc, t.txid::text AS txid_text, t.seq FROM {} t"
    ).format(hidden, table)


def get_task_result(
    conn: psycopg.Connection[Any], task: str, result_id: str
) -> TaskResultOut | None:
    table = results_table(conn, task)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_select(table) + sql.SQL(" WHERE t.result_id = %s"), (result_id,))
        row = cur.fetchone()
    return None if row is None else _document(task, row)


def list_task_results(
    conn: psycopg.Connection[Any],
    task: str,
    *,
    after: Cursor | None,
    since: datetime | None,
    limit: int,
) -> tuple[list[TaskResultOut], Cursor | None, bool]:
    """Like ``queries.list_results``: settled rows after the cursor in (txid, seq) order."""
    table = results_table(conn, task)
    where: list[sql.Composable] = [sql.SQL(SETTLED)]
    params: list[Any] = []
    if after is not None:
        where.append(sql.SQL("(t.txid, t.seq) > (%s::xid8, %s)"))
        params += [str(after.txid), after.seq]
    if since is not None:
        where.append(sql.SQL("t.created_at >= %s"))
        params.append(since)
    query = (
        _select(table)
        + sql.SQL(" WHERE ")
        + sql.SQL(" AND ").join(where)
        + sql.SQL(" ORDER BY t.txid, t.seq LIMIT %s")
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, [*params, limit + 1])
        rows = cur.fetchall()
    page, last, more = split_page(rows, limit)
    return [_document(task, row) for row in page], last, more
