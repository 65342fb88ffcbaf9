"""Results of other model versions than the served one: ``model_results`` (shadow runs and
backfills, one row per task, submission, model and version). The served result stays the
task's results table row; these are read beside it (``GET /v1/results/{task}/{id}?version=``).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from inferstream.api.models import TaskResultOut

_SELECT = "SELECT result, kind, latency_ms, written_at FROM model_results WHERE task = %s AND "


def _document(task: str, row: dict[str, Any]) -> TaskResultOut:
    document: dict[str, Any] = dict(row["result"])
    # The served row's created_at is when the sink wrote it; here, when the shadow run or the
    # backfill did. kind says which of the two produced it.
    return TaskResultOut.model_validate(
        {
            **document,
            "task": task,
            "created_at": row["written_at"],
            "kind": row["kind"],
            "latency_ms": row["latency_ms"],
        }
    )


def result_by_id(conn: psycopg.Connection[Any], task: str, result_id: str) -> TaskResultOut | None:
    """A shadow or backfill result by its own id (result ids include the version)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT + "result_id = %s LIMIT 1", (task, result_id))
        row = cur.fetchone()
    return None if row is None else _document(task, row)


def version_result(
    conn: psycopg.Connection[Any], task: str, submission_id: str, version: str
) -> TaskResultOut | None:
    """The result one version gave for a submission, when a shadow run or a backfill wrote it."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            _SELECT + "submission_id = %s AND model_version = %s ORDER BY written_at LIMIT 1",
            (task, submission_id, version),
        )
        row = cur.fetchone()
    return None if row is None else _document(task, row)
