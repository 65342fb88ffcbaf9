"""Scenario 4: the sink's write path (binary COPY into staging + INSERT ... ON CONFLICT) vs
executemany vs row-by-row INSERT, for the same result rows with 384-d vectors, each into the
emptied results table (with its indexes, HNSW included), the same rows per transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector

from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report
from inferstream.schemas import BugReportResult, make_result_id
from inferstream.tasks.plugin import load_plugin
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

TARGET = 5.0
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Config:
    rows: int = 50_000
    per_transaction: int = 1_000
    hnsw: bool = True  # also measure with the table's HNSW index dropped

    @classmethod
    def tiny(cls) -> Config:
        return cls(rows=60, per_transaction=20)


def make_rows(n: int, seed: int = 7, vectors: npt.NDArray[np.float32] | None = None) -> list[Row]:
    """n bug_report rows as the sink writes them (unit gaussian vectors unless given)."""
    plugin = load_plugin("bug_report")
    rng = np.random.default_rng(seed)
    if vectors is None:
        vectors = rng.standard_normal((n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        sid = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i))
        result = BugReportResult.model_validate(
            {
                "result_id": make_result_id(sid, "all-MiniLM-L6-v2", "bench"),
                "submission_id": sid,
                "schema_version": 1,
                "model_name": "all-MiniLM-L6-v2",
                "model_version": "bench",
                "produced_at": now,
                "quality_score": 0.8,
                "quality_flags": ["no_logs"],
                "low_quality": False,
                "duplicate_status": "unique",
                "content_sha256": f"{i:064x}",
                "embedding": vectors[i].tolist(),
            }
        )
        rows.append(plugin.row(result, now))
    return rows


def _insert_sql() -> str:
    table = load_plugin("bug_report").table
    marks = ", ".join(["%s"] * len(table.columns))
    return (
        f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) "
        "ON CONFLICT DO NOTHING"
    )


def _chunks(rows: Sequence[Row], size: int) -> list[Sequence[Row]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def write_copy(conninfo: str, rows: Sequence[Row], size: int) -> None:
    plugin = load_plugin("bug_report")
    writer = PostgresSinkWriter(conninfo, plugin.table, "bench.sink", "bug_report")
    try:
        for chunk in _chunks(rows, size):
            writer.write(SinkBatch(list(chunk), [], [], {}))
    finally:
        writer.close()


def write_executemany(conninfo: str, rows: Sequence[Row], size: int) -> None:
    sql = _insert_sql()
    with psycopg.connect(conninfo) as conn:
        register_vector(conn)
        for chunk in _chunks(rows, size):
            with conn.cursor() as cur:
                cur.executemany(sql, chunk)
            conn.commit()


def write_row_by_row(conninfo: str, rows: Sequence[Row], size: int) -> None:
    sql = _insert_sql()
    with psycopg.connect(conninfo) as conn:
        register_vector(conn)
        for chunk in _chunks(rows, size):
            with conn.cursor() as cur:
                for row in chunk:
                    cur.execute(sql, row)
            conn.commit()


METHODS: list[tuple[str, Callable[[str, Sequence[Row], int], None]]] = [
    ("binary COPY -> staging -> INSERT ... ON CONFLICT (the sink)", write_copy),
    ("executemany INSERT ... ON CONFLICT", write_executemany),
    ("row-by-row INSERT ... ON CONFLICT", write_row_by_row),
]


def _reset(conninfo: str, drop_hnsw: bool) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE results_bug_report")
        if drop_hnsw:
            conn.execute("DROP INDEX IF EXISTS results_bug_report_embedding_hnsw")
        conn.execute("CHECKPOINT")


def _count(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM results_bug_report").fetchone()
    return int(row[0]) if row else 0


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("sink", "sink write path: COPY + upsert vs executemany vs row by row")
    rows = make_rows(config.rows)
    results: dict[tuple[bool, str], float] = {}
    with bench_stack() as stack:
        conninfo = stack.conninfo()
        for drop_hnsw in (False, True) if config.hnsw else (False,):
            for name, method in METHODS:
                _reset(conninfo, drop_hnsw)
                started = time.perf_counter()
                method(conninfo, rows, config.per_transaction)
                results[(drop_hnsw, name)] = time.perf_counter() - started
                written = _count(conninfo)
                if written != len(rows):
                    raise RuntimeError(f"{name}: wrote {written} of {len(rows)} rows")
    for drop_hnsw in sorted({k[0] for k in results}):
        label = (
            "without the HNSW index" if drop_hnsw else "with the table's indexes (HNSW included)"
        )
        table = report.table(
            ["method", "rows", "seconds", "rows/s", "x executemany"],
            title=f"{config.rows} rows with 384-d vectors, {config.per_transaction} per "
            f"transaction, {label}",
        )
        many = results[(drop_hnsw, METHODS[1][0])]
        for name, _ in METHODS:
            seconds = results[(drop_hnsw, name)]
            table.add(name, config.rows, seconds, config.rows / seconds, many / seconds)
        if not drop_hnsw:
            ratio = many / results[(drop_hnsw, METHODS[0][0])]
            report.target(f"COPY path >= {TARGET:g}x executemany ({ratio:.2f}x)", ratio >= TARGET)
    return report
