"""Scenario 4: the sink's write path (binary COPY straight into the table as the transaction's
first statement; a batch that hits a stored row is rolled back and written again through the
conflict path), its path for a batch that conflicts (binary COPY into staging + INSERT ... ON
CONFLICT, also the writer's ``direct_copy=False``), executemany and row-by-row INSERT, for the
same result rows with 384-d vectors, each into the emptied results table (with its indexes),
the same rows per transaction. With ``hnsw``, again with as many earlier rows closed and
HNSW-indexed by `db maintain` (migration 0008): the sink appends to the open tail and must not
pay for those indexes; then the recall of the API's kNN (closed ranges through their HNSW
indexes + the open tail exactly) against brute force."""

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
from psycopg.types.json import Json

from inferstream.api.queries import nearest, nearest_sql
from inferstream.bench import proctimes, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report
from inferstream.plugins import load_plugin
from inferstream.schemas import BugReportResult, make_result_id
from inferstream.schemas.tasks.bug_report import EXCERPT_CHARS
from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.storage import vector_ranges
from inferstream.storage.vector_maintenance import maintain
from inferstream.tasks.bug_report.dedup.terms import term_frequencies
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

TARGET = 5.0
TABLE = "results_bug_report"
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Config:
    rows: int = 50_000
    per_transaction: int = 1_000
    hnsw: bool = True  # also measure with earlier rows HNSW-indexed, and the API's recall
    queries: int = 200  # recall@10 queries
    # Noise around the topic centres, per dimension (the centres have unit variance): 0.9 puts
    # a row's cluster mates at cosine ~0.55; 3.0 is close to uniform random vectors.
    spread: float = 0.9
    # Rows carrying the workload's report text (title, description, steps, logs, product,
    # component) as the sink writes them in the pipeline, with the dedup terms infer computes
    # from it and five similar items. Every method then pays Postgres's to_tsvector for
    # search_vector and its GIN entries (~30 and ~10 us per row, more than the rest of a COPYed
    # row) and the JSON columns' input; off: the text columns are NULL, no terms, no similar
    # items, as in the earlier runs.
    texts: bool = False

    @classmethod
    def tiny(cls) -> Config:
        return cls(rows=60, per_transaction=20, queries=5)


def clustered(n: int, seed: int, spread: float = 0.9) -> npt.NDArray[np.float32]:
    """Topic clusters (cluster mates at cosine ~0.55 with spread 0.9), like MiniLM
    embeddings of related bug reports; uniform random vectors are no realistic recall test."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((max(1, n // 100), 384))
    points = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, 384))
    unit: npt.NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


_TEXTS = ("title", "description", "steps_to_reproduce", "logs")


def report_texts(n: int) -> list[dict[str, str]]:
    """The text fields of n workload reports as a result keeps them (excerpts, title whole)."""
    texts = []
    for payload in workload.payloads(n):
        fields = {k: str(payload[k])[:EXCERPT_CHARS] for k in _TEXTS if payload.get(k)}
        fields.update({k: str(payload[k]) for k in ("product", "component") if payload.get(k)})
        texts.append(fields)
    return texts


def _dedup_fields(text: dict[str, str], rng: np.random.Generator) -> dict[str, Any]:
    """What infer adds from a report's text: its dedup terms (the function infer calls) and,
    as for every report once the index holds five, five similar items with their scores."""
    terms = term_frequencies(
        text.get("title", ""), text.get("description", ""), text.get("steps_to_reproduce", "")
    )
    scores = np.sort(rng.random(5))[::-1]
    similar = [
        {
            "submission_id": str(uuid.UUID(int=int(rng.integers(0, 2**63)))),
            "score": float(score),
            "cosine": float(score * 0.9),
        }
        for score in scores
    ]
    return {"dedup_terms": terms, "similar": similar}


def synthetic_results(
    n: int,
    seed: int,
    vectors: npt.NDArray[np.float32] | None = None,
    texts: Sequence[dict[str, str]] | None = None,
) -> list[BugReportResult]:
    """n bug_report results as infer would write them (unit gaussian vectors unless given;
    no report text unless given, one dict of fields per result)."""
    rng = np.random.default_rng(seed)
    # The similar items' draws from a generator of their own: a row with text keeps the ids,
    # vectors and scores of the same row without text.
    similar_rng = np.random.default_rng((seed, 1))
    if vectors is None:
        vectors = rng.standard_normal((n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC)
    results = []
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
                **(texts[i] if texts is not None else {}),
                **(_dedup_fields(texts[i], similar_rng) if texts is not None else {}),
            }
        )
        results.append(result)
    return results


def make_rows(
    n: int,
    seed: int = 7,
    vectors: npt.NDArray[np.float32] | None = None,
    texts: Sequence[dict[str, str]] | None = None,
) -> list[Row]:
    """n bug_report rows as the sink writes them (unit gaussian vectors unless given)."""
    table = load_plugin("bug_report").table
    results = synthetic_results(n, seed, vectors, texts)
    return [table.row(r.model_dump(), r.produced_at) for r in results]


def _insert_sql() -> str:
    table = load_plugin("bug_report").table
    marks = ", ".join(["%s"] * len(table.columns))
    return (
        f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) "
        "ON CONFLICT DO NOTHING"
    )


def _chunks(rows: Sequence[Row], size: int) -> list[Sequence[Row]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def backend_seconds(conn: psycopg.Connection[Any]) -> float:
    """CPU seconds the connection's Postgres backend has used (its /proc stat: the embedded
    Postgres runs on this machine); read before the connection closes."""
    stat = proctimes.read_stat(proctimes.PROC / str(conn.info.backend_pid) / "stat")
    return stat.own if stat else float("nan")


# A write method writes the rows and returns its Postgres backend's CPU seconds.
Method = Callable[[str, Sequence[Row], int], float]


def write_copy(conninfo: str, rows: Sequence[Row], size: int, *, direct: bool = False) -> float:
    plugin = load_plugin("bug_report")
    writer = PostgresSinkWriter(
        conninfo, plugin.table, "bench.sink", "bug_report", direct_copy=direct
    )
    try:
        for chunk in _chunks(rows, size):
            writer.write(SinkBatch(list(chunk), [], [], {}))
        return backend_seconds(writer.connect())
    finally:
        writer.close()


def write_executemany(conninfo: str, rows: Sequence[Row], size: int) -> float:
    sql = _insert_sql()
    with psycopg.connect(conninfo) as conn:
        register_vector(conn)
        for chunk in _chunks(rows, size):
            with conn.cursor() as cur:
                cur.executemany(sql, chunk)
            conn.commit()
        return backend_seconds(conn)


def write_row_by_row(conninfo: str, rows: Sequence[Row], size: int) -> float:
    sql = _insert_sql()
    with psycopg.connect(conninfo) as conn:
        register_vector(conn)
        for chunk in _chunks(rows, size):
            with conn.cursor() as cur:
                for row in chunk:
                    cur.execute(sql, row)
            conn.commit()
        return backend_seconds(conn)


METHODS: list[tuple[str, Method]] = [
    (
        "binary COPY into the table; staging + ON CONFLICT on a conflict (the sink)",
        lambda conninfo, rows, size: write_copy(conninfo, rows, size, direct=True),
    ),
    (
        "binary COPY -> staging -> INSERT ... ON CONFLICT (the sink's conflict path)",
        write_copy,
    ),
    ("executemany INSERT ... ON CONFLICT", write_executemany),
    ("row-by-row INSERT ... ON CONFLICT", write_row_by_row),
]


EXECUTEMANY = METHODS[2][0]
# The methods that send rows as statement parameters: binary COPY picks each column's dumper by
# its declared type, a parameter by the Python value's, and a plain dict or list is no json.
PARAMETERS = (write_executemany, write_row_by_row)


def as_parameters(rows: Sequence[Row]) -> list[Row]:
    """The rows with the json columns' values wrapped as psycopg's ``Json`` (built before the
    timed writes, as the rows themselves are)."""
    types = load_plugin("bug_report").table.types
    json_columns = [i for i, pg_type in enumerate(types) if pg_type == "json"]
    wrapped = []
    for row in rows:
        values = list(row)
        for i in json_columns:
            if values[i] is not None:
                values[i] = Json(values[i])
        wrapped.append(tuple(values))
    return wrapped


def _reset(conninfo: str, indexed: Sequence[Row]) -> None:
    """An empty results table, or one holding ``indexed`` rows closed and HNSW-indexed."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE results_bug_report")
        for name in vector_ranges.index_state(conn, TABLE).valid:
            conn.execute(f"DROP INDEX {vector_ranges.index_name(TABLE, name)}")
    if indexed:
        write_copy(conninfo, indexed, 10_000)
        maintain(conninfo, VectorIndexSettings.load(close_rows=1))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _count(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM results_bug_report").fetchone()
    return int(row[0]) if row else 0


def _recall(conninfo: str, n: int, spread: float) -> tuple[float, float, int, int]:
    """recall@10 of the API's kNN against brute force, its queries/s, and the indexed ranges,
    after a default `db maintain` has indexed the rows just written too (the worst case for
    recall: next to no row is scanned exactly)."""
    maintain(conninfo, VectorIndexSettings.load())
    queries = clustered(n, seed=99, spread=spread)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        register_vector(conn)
        rows = conn.execute("SELECT result_id, embedding FROM results_bug_report").fetchall()
        ids = [str(r[0]).strip() for r in rows]
        matrix = np.stack([np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows])
        hits, elapsed = 0, 0.0
        for query in queries:
            started = time.perf_counter()
            got = {x.result.result_id for x in nearest(conn, query, 10)}
            elapsed += time.perf_counter() - started
            hits += len(got & {ids[i] for i in np.argsort(-(matrix @ query))[:10]})
        closed = vector_ranges.closed_ranges(conn, TABLE)
        plan = conn.execute(
            "EXPLAIN " + nearest_sql(closed, ""), {"q": queries[0], "k": 10, "exclude": None}
        ).fetchall()
    # How many closed ranges the planner walks through their HNSW graph (vs scanning them).
    walked = sum(f"{TABLE}_hnsw_" in str(line[0]) for line in plan)
    return hits / (10 * n), n / elapsed, len(closed), walked


VARIANTS = {False: "the emptied table (its indexes)", True: "earlier rows HNSW-indexed"}


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("sink", "sink write path: COPY + upsert vs executemany vs row by row")
    texts = report_texts(config.rows) if config.texts else None
    rows = make_rows(config.rows, vectors=clustered(config.rows, 7, config.spread), texts=texts)
    earlier = make_rows(
        config.rows, seed=8, vectors=clustered(config.rows, 8, config.spread), texts=texts
    )
    parameters = as_parameters(rows)
    results: dict[tuple[bool, str], Timing] = {}
    recall: tuple[float, float, int, int] | None = None
    with bench_stack() as stack:
        conninfo = stack.conninfo()
        for indexed in (False, True) if config.hnsw else (False,):
            for name, method in METHODS:
                sent = parameters if method in PARAMETERS else rows
                _reset(conninfo, earlier if indexed else [])
                started, client = time.perf_counter(), time.process_time()
                backend = method(conninfo, sent, config.per_transaction)
                results[(indexed, name)] = Timing(
                    time.perf_counter() - started, time.process_time() - client, backend
                )
                expected = len(rows) * (2 if indexed else 1)
                if (written := _count(conninfo)) != expected:
                    raise RuntimeError(f"{name}: {written} rows, expected {expected}")
            if indexed:
                recall = _recall(conninfo, config.queries, config.spread)
    for indexed in sorted({k[0] for k in results}):
        _table(report, config, indexed, results)
    many, sink = results[(False, EXECUTEMANY)], results[(False, METHODS[0][0])]
    ratio = many.seconds / sink.seconds
    report.target(
        f"COPY path >= {TARGET:g}x executemany ({ratio:.2f}x; in CPU, bench process + "
        f"Postgres backend, {many.cpu / sink.cpu:.2f}x)",
        ratio >= TARGET,
    )
    if recall is not None:
        report.notes.append(
            f"kNN as /similar and /search run it, after the writes ({2 * config.rows} rows, "
            f"{recall[2]} HNSW-indexed range(s), {recall[3]} walked through its index by the "
            f"planner, + the open tail): recall@10 {recall[0]:.3f} "
            f"against brute force over {config.queries} queries, {recall[1]:.0f} queries/s"
        )
    return report


@dataclass(frozen=True)
class Timing:
    """One method's run: wall seconds, the bench process's CPU seconds (the client: encoding
    and protocol) and its Postgres backend's (parsing, executing, heap, WAL, indexes)."""

    seconds: float
    client: float
    backend: float

    @property
    def cpu(self) -> float:
        return self.client + self.backend


def _table(
    report: Report, config: Config, indexed: bool, results: dict[tuple[bool, str], Timing]
) -> None:
    title = f"{config.rows} rows with 384-d vectors, {config.per_transaction} per transaction"
    if config.texts:
        title += ", with the workload's report text"
    if indexed:
        title += f", after {config.rows} earlier rows closed and HNSW-indexed by `db maintain`"
    columns = ["method", "rows", "seconds", "rows/s", "x executemany"]
    columns += ["client us/row", "Postgres us/row", "CPU x executemany"]
    table = report.table(columns, title=title)
    many = results[(indexed, EXECUTEMANY)]
    for name, _ in METHODS:
        t = results[(indexed, name)]
        per_row = 1e6 / config.rows
        table.add(
            name,
            config.rows,
            t.seconds,
            config.rows / t.seconds,
            many.seconds / t.seconds,
            t.client * per_row,
            t.backend * per_row,
            many.cpu / t.cpu,
        )
