"""Shadow against served: agreement, score deltas and latency over the submissions both saw.

The served result is the task's results table row (one per submission: the version its alias
served); the shadow result is ``model_results`` (kind ``shadow``) for the chosen version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

# Per task: the results column holding the verdict and the one holding the score.
FIELDS = {
    "churn": ("label", "probability"),
    "target_risk": ("risk_level", "risk_score"),
    "anomaly": ("is_anomaly", "score"),
}


@dataclass(frozen=True)
class Comparison:
    task: str
    shadow_version: str
    served_versions: list[str]
    paired: int
    agreement: float | None
    mean_delta: float | None
    mean_abs_delta: float | None
    p95_abs_delta: float | None
    shadow_p50_ms: float | None
    shadow_p95_ms: float | None


def compare(conn: psycopg.Connection[Any], task: str, version: str | None) -> Comparison:
    """``version`` None: the most recently written shadow version of the task."""
    if task not in FIELDS:
        raise ValueError(f"no comparison for task {task!r}; one of {', '.join(FIELDS)}")
    if version is None:
        row = conn.execute(
            "SELECT model_version FROM model_results WHERE task = %s AND kind = 'shadow' "
            "ORDER BY written_at DESC LIMIT 1",
            (task,),
        ).fetchone()
        if row is None:
            raise ValueError(f"no shadow results for {task} (is `inferstream models shadow` on?)")
        version = str(row[0])
    verdict, score = (sql.Identifier(c) for c in FIELDS[task])
    query = sql.SQL(
        "WITH pairs AS ("
        " SELECT r.model_version AS served, r.{verdict}::text = (s.result->>{vname}) AS agree,"
        " (s.result->>{sname})::float8 - r.{score}::float8 AS delta, s.latency_ms"
        " FROM model_results s JOIN {table} r ON r.submission_id = s.submission_id"
        " WHERE s.task = %(task)s AND s.kind = 'shadow' AND s.model_version = %(version)s)"
        " SELECT count(*), avg(agree::int), avg(delta), avg(abs(delta)),"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY abs(delta)),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms),"
        " coalesce(array_agg(DISTINCT served), '{{}}') FROM pairs"
    ).format(
        verdict=verdict,
        score=score,
        vname=sql.Literal(FIELDS[task][0]),
        sname=sql.Literal(FIELDS[task][1]),
        table=sql.Identifier(f"results_{task}"),
    )
    row = conn.execute(query, {"task": task, "version": version}).fetchone()
    assert row is not None  # an aggregate always returns a row
    n, agree, mean, mean_abs, p95, lat50, lat95, served = row
    return Comparison(
        task,
        version,
        sorted(str(v) for v in served),
        int(n),
        *(None if v is None else float(v) for v in (agree, mean, mean_abs, p95, lat50, lat95)),
    )
