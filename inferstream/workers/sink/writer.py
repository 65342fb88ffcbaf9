"""Postgres side of the sink: one transaction per batch holding the result rows, submission
statuses, dead letters and the consumed offsets. Committing it is what makes the batch done:
exactly once.

The rows are COPYed (binary) straight into the results table as the transaction's first
statement; only a batch that hits a stored row (a replay, a result delivered twice) is rolled
back and written again through the staging path: COPY into a temporary table, then INSERT ...
ON CONFLICT DO NOTHING.
Both store the same rows (tests/integration/test_sink_writer.py); the direct COPY spares the
staging table's write, read and truncation and the speculative insertion per row (the sink's
Postgres backend 82-95 -> 69 us per bug_report result). ``direct_copy=False`` always takes the
staging path (the sink benchmark's A/B). The direct COPY was off once because the pipeline's
sink-crash test timed out with it (one run, not diagnosed); with it on, that test, the Postgres
outage, short chaos and restart tests pass."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import psycopg
from pgvector.psycopg import register_vector
from psycopg import abc
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.postgres import types as builtin_types
from psycopg.pq import Format
from psycopg.types.json import Json, Jsonb, JsonbBinaryDumper, JsonBinaryDumper, set_json_dumps

from inferstream.plugins import ResultTable
from inferstream.storage import offsets as offset_store
from inferstream.workers.runtime.watermark import Position

# The most a row may take before Postgres compresses or moves its values out of line (the
# largest toast_tuple_target it accepts): a row that fits a page is stored as it is.
STAGING_TOAST_TARGET = 8160
TEXT_OID = builtin_types["text"].oid


@dataclass(frozen=True)
class DeadLetterRow:
    submission_id: str | None
    stage: str
    kind: str
    reason: str
    original_topic: str
    original_partition: int
    original_offset: int
    payload: bytes
    headers: dict[str, str]


@dataclass
class SinkBatch:
    rows: list[tuple[Any, ...]]
    done: list[tuple[str, str, str, str]]  # submission_id, task, tenant, result_id
    dead: list[DeadLetterRow]
    offsets: dict[Position, int]  # next offset per input partition


class PostgresSinkWriter:
    def __init__(
        self,
        conninfo: str,
        table: ResultTable,
        group_id: str,
        task: str,
        *,
        direct_copy: bool = True,
    ) -> None:
        self.conninfo = conninfo
        self.direct_copy = direct_copy  # False: always staging + ON CONFLICT
        self.table = table
        self.group_id = group_id
        self.task = task
        self._conn: psycopg.Connection[Any] | None = None
        self.staging = f"staging_{table.name}"
        self._columns = ", ".join(table.columns)  # the staging table's, the COPY's, the INSERT's
        # The COPY's column types as oids, resolved once per connection (set_types looked the
        # 24 names up on every batch: ~0.1 ms of the batch's ~0.5 ms of client CPU).
        self._oids: list[int] = []

    def connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.conninfo, autocommit=False)
            _register_fast_dumpers(conn)
            # Only the columns the sink writes: LIKE would also copy NOT NULL columns the
            # table fills itself (identity, txid), and COPY leaves them null in staging. Rows
            # stay whole in the heap up to a page (as in results_bug_report, migration 0019):
            # a ~3 kB row is not compressed and moved to TOAST here only to be read back.
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.staging} "
                f"WITH (toast_tuple_target = {STAGING_TOAST_TARGET}) ON COMMIT DELETE ROWS "
                f"AS SELECT {self._columns} FROM {self.table.name} WITH NO DATA"
            )
            conn.commit()
            registry = conn.adapters.types
            self._oids = [registry.get_oid(name) for name in self.table.types]
            self._conn = conn
        return self._conn

    def write(self, batch: SinkBatch) -> None:
        conn = self.connect()
        try:
            if not self._write(conn, batch, direct=self.direct_copy and bool(batch.rows)):
                self._write(conn, batch, direct=False)
        except psycopg.OperationalError:
            self.close()  # a broken connection is replaced on the next try
            raise

    def _write(self, conn: psycopg.Connection[Any], batch: SinkBatch, *, direct: bool) -> bool:
        """The batch in one transaction; False, with nothing written, when the direct COPY hit
        a stored row. The COPY is the transaction's first statement, so such a batch is rolled
        back whole and written again through staging, without a savepoint around every COPY.
        The statements after it go with the COMMIT in one round trip (pipeline mode): four in
        all with psycopg's BEGIN and the COPY's start and end. Each round trip costs the sink
        and its backend a sleep and a wake-up besides the work."""
        try:
            if direct:
                try:
                    self._copy(conn, self.table.name, batch.rows)
                except psycopg.errors.UniqueViolation:
                    conn.rollback()
                    return False
            elif batch.rows:
                self._copy_via_staging(conn, batch.rows)
            with conn.pipeline():
                self._mark_done(conn, batch.done)
                self._dead_letters(conn, batch.dead)
                offset_store.store(conn, self.group_id, batch.offsets)
                # COMMIT as the pipeline's last statement: conn.commit() would sync the
                # pipeline, and leaving it syncs again, a round trip more per batch. A failed
                # statement before it aborts the pipeline, so the COMMIT is not run and the
                # error is raised on leaving (then rolled back below), as with conn.commit().
                conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return True

    def _copy_via_staging(
        self, conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """The conflict path: ON CONFLICT's work is paid only by a batch that really
        conflicts (a replay, a result delivered twice)."""
        self._copy(conn, self.staging, rows)
        conn.execute(
            f"INSERT INTO {self.table.name} ({self._columns}) "
            f"SELECT {self._columns} FROM {self.staging} ON CONFLICT DO NOTHING"
        )

    def _copy(
        self, conn: psycopg.Connection[Any], target: str, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {target} ({self._columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(self._oids)
            for row in rows:
                copy.write_row(row)

    def _mark_done(
        self, conn: psycopg.Connection[Any], done: Sequence[tuple[str, str, str, str]]
    ) -> None:
        if not done:
            return
        # One statement over the batch, not one per result: an executemany cost the sink and
        # Postgres a statement per row. The rows go as one JSON array (one orjson call), not
        # as four text arrays, which psycopg dumps in Python element by element (~4 us per
        # result). ON CONFLICT may touch a row once per statement, so a result delivered twice
        # in the batch counts once, the last one (as row by row).
        last = {row[0]: row for row in done}
        conn.execute(
            "INSERT INTO submissions (submission_id, task, tenant, status, result_id) "
            "SELECT u->>0, u->>1, u->>2, 'done', u->>3 FROM jsonb_array_elements(%s::jsonb) AS u "
            "ON CONFLICT (submission_id) DO UPDATE SET status = 'done', "
            "result_id = EXCLUDED.result_id, reason = NULL, updated_at = now() "
            # A submission id is owned by the task that first recorded it: another task's
            # record reusing the id never changes its status.
            "WHERE submissions.task = EXCLUDED.task",
            (orjson.dumps(list(last.values())).decode(),),
        )

    def _dead_letters(self, conn: psycopg.Connection[Any], dead: Sequence[DeadLetterRow]) -> None:
        if not dead:
            return
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dead_letters (submission_id, task, stage, kind, reason, "
                "original_topic, original_partition, original_offset, payload, headers) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (
                        d.submission_id,
                        self.task,
                        d.stage,
                        d.kind,
                        d.reason,
                        d.original_topic,
                        d.original_partition,
                        d.original_offset,
                        d.payload,
                        orjson.dumps(d.headers).decode(),
                    )
                    for d in dead
                ],
            )
            # A rejected submission never overrides one that already has a result, nor
            # another task's submission with the same id.
            cur.executemany(
                "INSERT INTO submissions (submission_id, task, status, reason) "
                "VALUES (%s, %s, 'rejected', %s) ON CONFLICT (submission_id) DO UPDATE "
                "SET status = 'rejected', reason = EXCLUDED.reason, updated_at = now() "
                "WHERE submissions.status <> 'done' AND submissions.task = EXCLUDED.task",
                [(d.submission_id, self.task, d.reason) for d in dead if d.submission_id],
            )

    def stored_offsets(self, positions: Sequence[Position]) -> dict[Position, int]:
        with psycopg.connect(self.conninfo) as conn:
            stored = offset_store.load(conn, self.group_id)
        wanted = set(positions)
        return {position: o for position, o in stored.items() if position in wanted}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _VectorDumper(Dumper):
    """pgvector's binary format (dimensions, 0, big-endian float32s) from a float32 array in
    one numpy step; pgvector's own dumper copies it into a Python array first (3x the CPU)."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        values = np.asarray(obj, dtype=">f4")
        if values.ndim != 1:
            raise ValueError(f"a vector must have one dimension, got {values.ndim}")
        return struct.pack(">HH", len(values), 0) + values.tobytes()


# A one-dimensional text array's binary head: dimensions, has-nulls, element type (text), then
# the dimension's length and lower bound (1); an empty array is the head's first three alone.
_TEXT_ARRAY_HEAD = struct.Struct(">iiIii")
_EMPTY_TEXT_ARRAY = struct.pack(">iiI", 0, 0, TEXT_OID)
_ARRAY_NULL = b"\xff\xff\xff\xff"


def _text_array_dumper(general: type[abc.Dumper]) -> type[abc.Dumper]:
    """text[] (quality_flags) for binary COPY: a flat list of strings packed in one pass. The
    general list dumper walks dimensions and a sub-dumper per item in Python (~3 us per
    row); anything else (nested lists, other item types) still goes to it, so what reaches
    Postgres, and every error, is the same."""

    class TextArrayDumper(general):  # type: ignore[misc,valid-type]
        def dump(self, obj: Any) -> Any:
            if type(obj) is not list:
                return super().dump(obj)
            if not obj:
                return _EMPTY_TEXT_ARRAY
            parts: list[bytes] = []
            hasnull = 0
            for item in obj:
                if type(item) is str:
                    data = item.encode()
                    parts.append(len(data).to_bytes(4, "big"))
                    parts.append(data)
                elif item is None:
                    hasnull = 1
                    parts.append(_ARRAY_NULL)
                else:
                    return super().dump(obj)
            return _TEXT_ARRAY_HEAD.pack(1, hasnull, TEXT_OID, len(obj), 1) + b"".join(parts)

    return TextArrayDumper


class _JsonDumper(JsonBinaryDumper):
    """json for binary COPY (bug_report's similar_items and dedup_terms): orjson's bytes in
    one call (json's binary form is its text), without the general dumper's two layers per
    value; a wrapper with its own dumps function goes through them as before."""

    def dump(self, obj: Any) -> Any:
        if isinstance(obj, Json):
            if obj.dumps is not None:
                return super().dump(obj)
            obj = obj.obj
        return orjson.dumps(obj)


class _JsonbDumper(JsonbBinaryDumper):
    """jsonb for binary COPY (the other tasks' JSON columns): the version byte and orjson's
    bytes in one call, as ``_JsonDumper``."""

    def dump(self, obj: Any) -> Any:
        if isinstance(obj, Jsonb):
            if obj.dumps is not None:
                return super().dump(obj)
            obj = obj.obj
        return b"\x01" + orjson.dumps(obj)


def _register_fast_dumpers(conn: psycopg.Connection[Any]) -> None:
    """The sink connection's dumpers: JSON through orjson (the standard library's json.dumps
    was ~10 % of the sink's CPU; Postgres parses either into the same jsonb), vectors, text
    arrays, json and jsonb as above (binary COPY picks the dumper by the column's type, so these
    serve the table's columns whatever Python type the row holds)."""
    register_vector(conn)
    set_json_dumps(orjson.dumps, conn)
    oid = conn.adapters.types["vector"].oid
    conn.adapters.register_dumper(np.ndarray, type("VectorDumper", (_VectorDumper,), {"oid": oid}))
    register_copy_dumpers(conn.adapters)


def register_copy_dumpers(adapters: AdaptersMap) -> None:
    """The text[], json and jsonb dumpers above, by type oid (what binary COPY looks up)."""
    general = adapters.get_dumper_by_oid(adapters.types.get_oid("text[]"), Format.BINARY)
    adapters.register_dumper(None, _text_array_dumper(general))
    adapters.register_dumper(None, _JsonDumper)
    adapters.register_dumper(None, _JsonbDumper)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """End a failed batch's transaction; a connection that is gone has none left (the caller
    closes it on the OperationalError it raised)."""
    if not conn.closed:
        with contextlib.suppress(psycopg.OperationalError):
            conn.rollback()


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
