"""Closed seq ranges of a results table and the partial HNSW index that covers each one.

The sink only appends rows to the open tail (``seq >= end of the last closed range``), which no
HNSW index covers, so it never pays for HNSW maintenance. `inferstream db maintain` closes the
tail into a range once it is large enough and builds a partial index ``WHERE seq >= lo AND
seq < hi`` on it with CREATE INDEX CONCURRENTLY, outside any sink transaction. Queries probe each
closed range's index and scan the small open tail exactly.

The state lives in the Postgres catalog only: a range is closed when a VALID index named
``<table>_hnsw_<lo>_<hi>`` exists. Readers never depend on it for correctness (their WHERE
clauses name the bounds, not the index), only for speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

# The identity column that orders a results table's rows (0003 and the per-task migrations).
SEQ = "seq"
_MAX_IDENTIFIER = 63


@dataclass(frozen=True, order=True)
class SeqRange:
    """The half-open range [lo, hi) of seq values."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if not 0 <= self.lo < self.hi:
            raise ValueError(f"not a seq range: [{self.lo}, {self.hi})")

    @property
    def span(self) -> int:
        return self.hi - self.lo

    def where(self, alias: str = "") -> str:
        """The SQL predicate with the bounds inlined: the planner can match a partial index's
        predicate only against constants, not parameters of a generic plan."""
        column = f"{alias}.{SEQ}" if alias else SEQ
        return f"{column} >= {int(self.lo)} AND {column} < {int(self.hi)}"


def index_name(table: str, seq_range: SeqRange) -> str:
    name = f"{table}_hnsw_{seq_range.lo}_{seq_range.hi}"
    if len(name) > _MAX_IDENTIFIER:
        raise ValueError(f"index name {name!r} is longer than Postgres allows")
    return name


def parse_index_name(table: str, name: str) -> SeqRange | None:
    match = re.fullmatch(re.escape(table) + r"_hnsw_(\d+)_(\d+)", name)
    if match is None:
        return None
    lo, hi = int(match.group(1)), int(match.group(2))
    return SeqRange(lo, hi) if lo < hi else None


def cover(ranges: Iterable[SeqRange]) -> list[SeqRange]:
    """The chain of adjacent ranges from seq 0 that reaches furthest, with the fewest ranges
    (after a merge both the merged range and its parts exist until the parts are dropped)."""
    best: dict[int, list[SeqRange]] = {0: []}
    for seq_range in sorted(set(ranges)):
        # Sorted by lo: every chain ending at lo was built before ranges starting there.
        chain = best.get(seq_range.lo)
        if chain is None:
            continue
        known = best.get(seq_range.hi)
        if known is None or len(chain) + 1 < len(known):
            best[seq_range.hi] = [*chain, seq_range]
    return best[max(best)]


def open_from(covered: Sequence[SeqRange]) -> int:
    """Where the open (unindexed) tail starts."""
    return covered[-1].hi if covered else 0


def tier(span: int, close_rows: int, fanout: int) -> int:
    """0 for a range of about close_rows, +1 for each factor of fanout beyond."""
    level, size = 0, close_rows * fanout
    while span >= size:
        level, size = level + 1, size * fanout
    return level


def plan_merge(covered: Sequence[SeqRange], close_rows: int, fanout: int) -> SeqRange | None:
    """The range that replaces the newest run of ``fanout`` adjacent ranges of one tier, if any."""
    for end in range(len(covered), fanout - 1, -1):
        window = covered[end - fanout : end]
        if len({tier(r.span, close_rows, fanout) for r in window}) == 1:
            return SeqRange(window[0].lo, window[-1].hi)
    return None


@dataclass(frozen=True)
class IndexState:
    valid: list[SeqRange]
    invalid: list[str]  # names of failed CREATE INDEX CONCURRENTLY leftovers


def index_state(conn: psycopg.Connection[Any], table: str) -> IndexState:
    rows = conn.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND c.relname LIKE %s",
        (table, f"{table}\\_hnsw\\_%"),
    ).fetchall()
    valid: list[SeqRange] = []
    invalid: list[str] = []
    for name, is_valid in rows:
        seq_range = parse_index_name(table, str(name))
        if seq_range is None:
            continue
        if is_valid:
            valid.append(seq_range)
        else:
            invalid.append(str(name))
    return IndexState(valid, invalid)


def closed_ranges(conn: psycopg.Connection[Any], table: str) -> list[SeqRange]:
    """The indexed ranges a query should probe, in seq order (everything past them is open)."""
    return cover(index_state(conn, table).valid)
