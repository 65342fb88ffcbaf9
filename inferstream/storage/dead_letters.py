"""Dead-letter retention in Postgres: count and delete rows older than a cutoff.

`dead_letters` keeps each rejected record's original bytes, so it grows with every rejection
and holds whatever a producer sent. Deletion goes in batches of the oldest rows (each its own
short transaction on the `created_at` index, migration 0011), so a purge of millions of rows
never holds one long lock or writes one huge WAL burst while the sinks insert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class ExpiredGroup:
    """Dead letters of one task and stage older than the cutoff."""

    task: str | None
    stage: str
    rows: int
    payload_bytes: int
    oldest: datetime


def cutoff_for(conn: psycopg.Connection[Any], older_than_days: int) -> datetime:
    """The database's now() minus the retention: one clock (the server's) for count and delete."""
    row = conn.execute("SELECT now() - make_interval(days => %s)", (older_than_days,)).fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def expired(
    conn: psycopg.Connection[Any], cutoff: datetime, task: str | None = None
) -> list[ExpiredGroup]:
    """What a purge with this cutoff would delete, per task and stage."""
    rows = conn.execute(
        "SELECT task, stage, count(*), coalesce(sum(octet_length(payload)), 0), min(created_at) "
        "FROM dead_letters WHERE created_at < %s AND (%s::text IS NULL OR task = %s) "
        "GROUP BY task, stage ORDER BY task NULLS FIRST, stage",
        (cutoff, task, task),
    ).fetchall()
    return [ExpiredGroup(t, s, int(n), int(b), oldest) for t, s, n, b, oldest in rows]


def purge(
    conninfo: str,
    cutoff: datetime,
    task: str | None = None,
    batch_rows: int = 5000,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete every dead letter older than the cutoff (of one task, or all); return the count.
    Rows written after the cutoff are never touched, however long the purge runs."""
    deleted = 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while True:
            with conn.transaction():
                cur = conn.execute(
                    "DELETE FROM dead_letters WHERE id IN ("
                    "SELECT id FROM dead_letters WHERE created_at < %s "
                    "AND (%s::text IS NULL OR task = %s) "
                    "ORDER BY created_at, id LIMIT %s FOR UPDATE SKIP LOCKED)",
                    (cutoff, task, task, batch_rows),
                )
                count = cur.rowcount
            deleted += count
            if on_batch is not None and count:
                on_batch(deleted)
            if count < batch_rows:
                return deleted
