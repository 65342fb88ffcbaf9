"""HNSW off the sink's hot path, on the real embedded Postgres + pgvector: `db maintain` indexes
closed seq ranges, sink writes never touch those indexes, queries find the newest rows (open
tail, exact) and keep recall >= 0.95 over the indexed ranges."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pytest
from _stack import Stack, scratch_database
from fastapi.testclient import TestClient
from pgvector.psycopg import register_vector
from psycopg.conninfo import conninfo_to_dict

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.api.queries import nearest, nearest_sql
from inferstream.bench.sink import make_rows
from inferstream.plugins import load_plugin
from inferstream.settings import ApiSettings
from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.storage import migrate
from inferstream.storage.vector_maintenance import maintain
from inferstream.storage.vector_ranges import SeqRange, closed_ranges
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

DIM = 384
TABLE = "results_bug_report"
SMALL = VectorIndexSettings.load(close_rows=1000, fanout=2)
RNG = np.random.default_rng(19)
CENTRES = RNG.standard_normal((60, DIM))


def clustered(n: int) -> npt.NDArray[np.float32]:
    """Topic clusters with spread, like MiniLM embeddings of related bug reports."""
    points = CENTRES[RNG.integers(0, len(CENTRES), n)] + 0.9 * RNG.standard_normal((n, DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "vr") as conninfo:
        migrate(conninfo)
        yield conninfo


def sink_write(conninfo: str, vectors: npt.NDArray[np.float32]) -> list[str]:
    """Rows through the sink's own writer (COPY -> staging -> INSERT ... ON CONFLICT)."""
    rows = make_rows(len(vectors), seed=int(RNG.integers(1, 2**31)), vectors=vectors)
    writer = PostgresSinkWriter(conninfo, load_plugin("bug_report").table, "test.vr", "bug_report")
    try:
        writer.write(SinkBatch(rows, [], [], {}))
    finally:
        writer.close()
    return [str(row[0]) for row in rows]


def hnsw_sizes(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT indexname, pg_relation_size(format('%%I', indexname)::regclass) "
            "FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%USING hnsw%%'",
            (TABLE,),
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def test_maintain_closes_and_merges_ranges_and_sink_writes_skip_them(conninfo: str) -> None:
    closed: list[list[SeqRange]] = []
    for _ in range(3):
        sink_write(conninfo, clustered(1000))
        (report,) = maintain(conninfo, SMALL)
        closed.append(report.closed)
        assert report.open_rows == 0
    # Tiers with fanout 2: [0,1001); then two of tier 0 merged; then a new tier-0 range.
    assert closed == [
        [SeqRange(0, 1001)],
        [SeqRange(0, 2001)],
        [SeqRange(0, 2001), SeqRange(2001, 3001)],
    ]
    sizes = hnsw_sizes(conninfo)
    assert set(sizes) == {f"{TABLE}_hnsw_0_2001", f"{TABLE}_hnsw_2001_3001"}
    (again,) = maintain(conninfo, SMALL)
    assert again.actions == [] and again.closed == closed[-1]
    # The sink appends to the open tail: no HNSW index grows by a single page.
    sink_write(conninfo, clustered(500))
    assert hnsw_sizes(conninfo) == sizes
    (report,) = maintain(conninfo, VectorIndexSettings.load(close_rows=10_000))
    assert report.actions == [] and report.open_rows == 500
    with psycopg.connect(conninfo) as conn:
        analysed = conn.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", (TABLE,)
        ).fetchone()
    assert analysed is not None and analysed[0] is not None, "the planner needs statistics"


def test_a_failed_build_is_dropped_and_redone(conninfo: str) -> None:
    """A crashed CREATE INDEX CONCURRENTLY leaves an INVALID index; it never counts as closed."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX {TABLE}_hnsw_3001_9999 ON {TABLE} (seq) WHERE seq >= 3001")
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            (f"{TABLE}_hnsw_3001_9999",),
        )
        assert closed_ranges(conn, TABLE) == [SeqRange(0, 2001), SeqRange(2001, 3001)]
    (report,) = maintain(conninfo, SMALL)
    assert any("left invalid" in action for action in report.actions), report.actions
    assert f"{TABLE}_hnsw_3001_9999" not in hnsw_sizes(conninfo)


def all_vectors(conn: psycopg.Connection[Any]) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Every row's id and embedding, read once: the exact search's ground truth (the table does
    not change while the queries run; reading it per query was most of the test's time)."""
    rows = conn.execute(f"SELECT result_id, embedding FROM {TABLE}").fetchall()
    matrix = np.stack([np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows])
    return [str(r[0]).strip() for r in rows], matrix


def exact_top(
    ids: list[str], matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int
) -> list[str]:
    order = np.argsort(-(matrix @ query))[:k]
    return [ids[i] for i in order]


def test_recall_of_the_indexed_ranges_against_exact_search(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        register_vector(conn)
        closed = closed_ranges(conn, TABLE)
        assert len(closed) == 2
        # Small ranges may be scanned exactly; forbid that to measure the HNSW graphs.
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_sort = off")
        query = clustered(1)[0]
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(
                "EXPLAIN " + nearest_sql(closed, ""), {"q": query, "k": 10, "exclude": None}
            )
        )
        for seq_range in closed:
            assert f"{TABLE}_hnsw_{seq_range.lo}_{seq_range.hi}" in plan, plan
        ids, matrix = all_vectors(conn)
        hits = total = 0
        for query in clustered(100):
            got = [n.result.result_id for n in nearest(conn, query, 10)]
            hits += len(set(got) & set(exact_top(ids, matrix, query, 10)))
            total += 10
    assert hits / total >= 0.95, f"recall@10 {hits / total:.3f}"


def test_the_newest_row_is_found_by_similar_and_search(stack: Stack, conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        register_vector(conn)
        old_id, old_vector = conn.execute(
            f"SELECT result_id, embedding FROM {TABLE} WHERE seq < 100 LIMIT 1"
        ).fetchone() or (None, None)
        assert old_id is not None and closed_ranges(conn, TABLE)
        old = np.asarray(old_vector.to_numpy(), dtype=np.float32)
        twin = old + 0.01 * RNG.standard_normal(DIM).astype(np.float32)
        twin /= np.linalg.norm(twin)
        (new_id,) = sink_write(conninfo, twin[None, :])
        prefix = ApiSettings.load().api_key_prefix
        key = create_key(conn, prefix=prefix, name="vr", role=Role.reader, ttl_days=1).key
    database = conninfo_to_dict(conninfo)["dbname"]
    postgres = stack.postgres.model_copy(update={"database": database})
    app = create_app(ApiSettings.load(), postgres, embed=lambda text: twin)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        similar = client.get(f"/v1/results/bug_report/{old_id.strip()}/similar?k=3", headers=auth)
        assert similar.status_code == 200, similar.text
        assert similar.json()["items"][0]["result"]["result_id"] == new_id
        found = client.post("/v1/search/bug_report", json={"text": "x", "k": 3}, headers=auth)
        assert found.status_code == 200, found.text
        first = found.json()["items"][0]
        assert first["result"]["result_id"] == new_id and first["score"] > 0.999


def test_db_maintain_command(stack: Stack) -> None:
    result = stack.cli("db", "maintain")
    assert result.returncode == 0, result.stderr
    assert "rows in the open tail" in result.stdout
    # On a database that was never migrated: one line saying what to do, no traceback.
    name = f"vr_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**stack.env, "INFERSTREAM_POSTGRES_DATABASE": name}
        empty = subprocess.run(
            [sys.executable, "-m", "inferstream", "db", "maintain"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert empty.returncode == 2, empty.stderr
    assert "inferstream db migrate" in empty.stderr and "Traceback" not in empty.stderr
    assert len(empty.stderr.strip().splitlines()) == 1, empty.stderr
