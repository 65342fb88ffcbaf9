"""The monitor's state in Postgres (migration 0015): counts and labels written with the
consumed offsets in one transaction, and the window queries the evaluation reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from inferstream.monitor.spec import TaskSpec
from inferstream.storage import offsets

Position = tuple[str, int]


class CountKey(NamedTuple):
    model_name: str
    model_version: str
    kind: str  # score | input | latency | error
    feature: str
    bucket_start: datetime
    bin: int


@dataclass
class Delta:
    """What one batch adds: counts, labels, and the offsets it was read up to."""

    counts: Counter[CountKey] = field(default_factory=Counter)
    feedback: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    offsets: dict[Position, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Accuracy:
    model_name: str
    model_version: str
    labelled: int
    correct: int


class MonitorState:
    def __init__(self, conninfo: str, spec: TaskSpec, group: str) -> None:
        self.conninfo = conninfo
        self.spec = spec
        self.group = group
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo)
        return self._conn

    def write(self, delta: Delta) -> None:
        conn = self._connection()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO monitor_counts (task, model_name, model_version, kind, feature,"
                    " bucket_start, bin, count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (task, model_name, model_version, kind, feature, bucket_start,"
                    " bin) DO UPDATE SET count = monitor_counts.count + EXCLUDED.count",
                    [(self.spec.task, *key, n) for key, n in delta.counts.items()],
                )
                cur.executemany(
                    "INSERT INTO monitor_feedback (task, submission_id, actual, received_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (task, submission_id)"
                    " DO UPDATE SET actual = EXCLUDED.actual, received_at = EXCLUDED.received_at",
                    [(self.spec.task, s, a, at) for s, (a, at) in delta.feedback.items()],
                )
                offsets.store(conn, self.group, delta.offsets)
        except psycopg.OperationalError:
            self.close()  # a broken connection is reopened on the next batch
            raise

    def stored_offsets(self, positions: Sequence[Position]) -> dict[Position, int]:
        stored = offsets.load(self._connection(), self.group)
        self._connection().rollback()
        return {p: o for p, o in stored.items() if not positions or p in positions}

    def window_counts(self, since: datetime) -> dict[tuple[str, str, str, str], dict[int, int]]:
        """(model, version, kind, feature) -> bin -> count, over buckets from ``since``."""
        rows = (
            self._connection()
            .execute(
                "SELECT model_name, model_version, kind, feature, bin, sum(count)::bigint"
                " FROM monitor_counts WHERE task = %s AND bucket_start >= %s"
                " GROUP BY model_name, model_version, kind, feature, bin",
                (self.spec.task, since),
            )
            .fetchall()
        )
        self._connection().rollback()
        out: dict[tuple[str, str, str, str], dict[int, int]] = {}
        for name, version, kind, feature, index, count in rows:
            out.setdefault((name, version, kind, feature), {})[int(index)] = int(count)
        return out

    def accuracy(self, since: datetime) -> list[Accuracy]:
        """Labels received since ``since`` joined with the prediction the sink stored."""
        query = sql.SQL(
            "SELECT r.model_name, r.model_version, count(*),"
            " count(*) FILTER (WHERE r.{label}::text = f.actual)"
            " FROM monitor_feedback f JOIN {table} r ON r.submission_id = f.submission_id"
            " WHERE f.task = %s AND f.received_at >= %s GROUP BY r.model_name, r.model_version"
        ).format(
            label=sql.Identifier(self.spec.label_column),
            table=sql.Identifier(self.spec.results_table),
        )
        rows = self._connection().execute(query, (self.spec.task, since)).fetchall()
        self._connection().rollback()
        return [Accuracy(str(n or ""), str(v or ""), int(t), int(c)) for n, v, t, c in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def counts_of(window: Mapping[tuple[str, str, str, str], dict[int, int]], kind: str) -> Any:
    """The entries of one kind, keyed (model, version, feature)."""
    return {(n, v, f): c for (n, v, k, f), c in window.items() if k == kind}
