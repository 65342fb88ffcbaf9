"""`inferstream db maintain`: build the HNSW indexes of closed seq ranges, outside the sink.

One pass: drop the leftovers of a failed build, close the open tail into a range when it holds
``close_rows`` rows, merge ``fanout`` adjacent ranges of one size tier into one, and drop the
ranges a merge replaced. Every build is CREATE INDEX CONCURRENTLY, so the sink keeps writing
(the open tail is not covered by any index, so its inserts do not touch the HNSW graphs) and
the API keeps reading. Runs are serialised by an advisory lock; a crashed run leaves either an
invalid index (dropped by the next run) or a valid one (used, or dropped if redundant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.storage.vector_ranges import (
    SEQ,
    SeqRange,
    cover,
    index_name,
    index_state,
    open_from,
    plan_merge,
)

# Which results tables carry a vector column with an HNSW-indexed cosine search.
VECTOR_TABLES = {"results_bug_report": "embedding"}
# A fixed 64-bit number of its own (the migrator's is ...0001).
ADVISORY_LOCK_KEY = 0x1F5E_2A3B_0002


@dataclass
class MaintenanceReport:
    table: str
    actions: list[str] = field(default_factory=list)
    closed: list[SeqRange] = field(default_factory=list)  # what queries probe afterwards
    open_rows: int = 0

    def lines(self) -> list[str]:
        spans = ", ".join(f"[{r.lo}, {r.hi})" for r in self.closed) or "none"
        return [
            *(f"{self.table}: {action}" for action in self.actions),
            f"{self.table}: indexed seq ranges {spans}; {self.open_rows} rows in the open tail",
        ]


def maintain(conninfo: str, settings: VectorIndexSettings) -> list[MaintenanceReport]:
    """One maintenance pass over every vector table (a no-op when nothing is due)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # An HNSW build over a large range may run for minutes: no statement timeout here.
        conn.execute("SET statement_timeout = 0")
        conn.execute(
            sql.SQL("SET maintenance_work_mem = {}").format(
                sql.Literal(settings.maintenance_work_mem)
            )
        )
        locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
        if not locked or not locked[0]:
            busy = ["skipped: another maintenance run is in progress"]
            return [MaintenanceReport(table, list(busy)) for table in VECTOR_TABLES]
        try:
            return [_maintain_table(conn, t, c, settings) for t, c in VECTOR_TABLES.items()]
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _maintain_table(
    conn: psycopg.Connection[Any], table: str, column: str, settings: VectorIndexSettings
) -> MaintenanceReport:
    report = MaintenanceReport(table)
    state = index_state(conn, table)
    for name in state.invalid:
        _drop(conn, name)
        report.actions.append(f"dropped {name} (left invalid by a failed build)")
    ranges = set(state.valid)
    tail = _open_tail(conn, table, open_from(cover(ranges)))
    if tail is not None and tail[0] >= settings.close_rows:
        new = SeqRange(open_from(cover(ranges)), tail[1] + 1)
        _build(conn, table, column, new)
        ranges.add(new)
        report.actions.append(f"closed [{new.lo}, {new.hi}) ({tail[0]} rows) and indexed it")
    while (merged := plan_merge(cover(ranges), settings.close_rows, settings.fanout)) is not None:
        _build(conn, table, column, merged)
        ranges.add(merged)
        report.actions.append(f"merged [{merged.lo}, {merged.hi}) into one index")
    covered = cover(ranges)
    for redundant in sorted(ranges - set(covered)):
        _drop(conn, index_name(table, redundant))
        report.actions.append(f"dropped {index_name(table, redundant)} (merged)")
    report.closed = covered
    _analyze_if_due(conn, table, changed=bool(report.actions))
    tail = _open_tail(conn, table, open_from(covered))
    report.open_rows = tail[0] if tail is not None else 0
    return report


def _analyze_if_due(conn: psycopg.Connection[Any], table: str, *, changed: bool) -> None:
    """Fresh statistics after ranges changed (or when there are none yet): without them the
    planner guesses a third of the table for the open tail's ``seq >= x`` and scans the
    whole table instead of the tail through its btree (measured: 35 ms vs 2.5 ms at 22k rows).
    Between runs a stale histogram is fine: past its last bucket the planner probes the btree
    for the real largest seq."""
    row = conn.execute(
        "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL "
        "FROM pg_stat_user_tables WHERE relid = to_regclass(%s)",
        (table,),
    ).fetchone()
    if changed or (row is not None and row[0]):
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def _open_tail(conn: psycopg.Connection[Any], table: str, start: int) -> tuple[int, int] | None:
    """(rows, largest seq) of the committed rows at or past ``start``; None when there are none."""
    row = conn.execute(
        sql.SQL("SELECT count(*), max({seq}) FROM {table} WHERE {seq} >= %s").format(
            seq=sql.Identifier(SEQ), table=sql.Identifier(table)
        ),
        (start,),
    ).fetchone()
    if row is None or row[1] is None:
        return None
    return int(row[0]), int(row[1])


def _build(conn: psycopg.Connection[Any], table: str, column: str, seq_range: SeqRange) -> None:
    # CONCURRENTLY: no lock that blocks the sink's inserts. Rows of transactions still open
    # when the build starts are waited for, so every row of [lo, hi) ends up in the index.
    conn.execute(
        sql.SQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            "USING hnsw ({column} vector_cosine_ops) WHERE {where}"
        ).format(
            name=sql.Identifier(index_name(table, seq_range)),
            table=sql.Identifier(table),
            column=sql.Identifier(column),
            where=sql.SQL(seq_range.where()),
        )
    )


def _drop(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
