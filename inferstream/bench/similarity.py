"""Scenario 5: kNN for duplicates, faiss in the worker's process vs pgvector HNSW in Postgres:
queries/s (one client, one query at a time, as the hot path asks) and recall@5 against exact
search, on the same vectors."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector

from inferstream.bench import workload
from inferstream.bench.bare import embedder
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report
from inferstream.models import SimilarityIndex

K = 5
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Config:
    vectors: int = 20_000
    queries: int = 500
    seed_texts: int = 540

    @classmethod
    def tiny(cls) -> Config:
        return cls(vectors=300, queries=10, seed_texts=20)


def dataset(config: Config, seed: int = 11) -> tuple[Vectors, Vectors]:
    """Real MiniLM embeddings of the example reports as cluster centres, plus normalised
    gaussian perturbations of them (near-duplicates), for the base set and the queries."""
    model = embedder(64)
    centres = model.embed(workload.texts(config.seed_texts))
    rng = np.random.default_rng(seed)

    def around(n: int) -> Vectors:
        picks = centres[rng.integers(0, len(centres), n)]
        noisy = picks + rng.normal(0, 0.04, picks.shape).astype(np.float32)
        normed: Vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        return normed

    return around(config.vectors), around(config.queries)


def exact(base: Vectors, queries: Vectors) -> npt.NDArray[np.int64]:
    scores = queries @ base.T
    return np.argsort(-scores, axis=1)[:, :K]


def recall(found: list[list[int]], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (K * len(found))


def _faiss(base: Vectors, queries: Vectors, hnsw: bool) -> tuple[float, float, list[list[int]]]:
    index = SimilarityIndex(384, hnsw_threshold=0 if hnsw else len(base) + 1, use_gpu=None)
    started = time.perf_counter()
    index.add([str(i) for i in range(len(base))], base)
    build = time.perf_counter() - started
    found: list[list[int]] = []
    started = time.perf_counter()
    for q in queries:
        found.append([int(i) for i, _ in index.search(q[None, :], K)[0]])
    return build, len(queries) / (time.perf_counter() - started), found


def _pgvector(
    conninfo: str, base: Vectors, queries: Vectors, ef_search: list[int]
) -> tuple[float, dict[int, tuple[float, list[list[int]]]]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("SET statement_timeout = 0")  # the index build may take minutes
        conn.execute("DROP TABLE IF EXISTS bench_vectors")
        conn.execute("CREATE TABLE bench_vectors (id int PRIMARY KEY, embedding vector(384))")
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_vectors (id, embedding) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int4", "vector"])
            for i, v in enumerate(base):
                copy.write_row((i, v))
        started = time.perf_counter()
        conn.execute(
            "CREATE INDEX ON bench_vectors USING hnsw (embedding vector_cosine_ops)"
        )  # pgvector's defaults, as migration 0002 (m=16, ef_construction=64)
        build = time.perf_counter() - started
        conn.execute("ANALYZE bench_vectors")
        out: dict[int, tuple[float, list[list[int]]]] = {}
        for ef in ef_search:
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            found: list[list[int]] = []
            started = time.perf_counter()
            for q in queries:
                rows = conn.execute(
                    "SELECT id FROM bench_vectors ORDER BY embedding <=> %s LIMIT %s", (q, K)
                ).fetchall()
                found.append([int(r[0]) for r in rows])
            out[ef] = (len(queries) / (time.perf_counter() - started), found)
        conn.execute("DROP TABLE bench_vectors")
    return build, out


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("similarity", "kNN: faiss in process vs pgvector HNSW", device=ctx.device.label)
    base, queries = dataset(config)
    truth = exact(base, queries)
    table = report.table(
        ["contender", "build s", "queries/s", f"recall@{K}"],
        title=f"{config.vectors} vectors (384-d), {config.queries} queries, one at a time",
    )
    for name, hnsw in (
        ("faiss flat (exact), in process", False),
        ("faiss HNSW (M=32, efSearch=128)", True),
    ):
        build, qps, found = _faiss(base, queries, hnsw)
        table.add(name, build, qps, recall(found, truth))
    with bench_stack(empty_results=False) as stack:
        build, by_ef = _pgvector(stack.conninfo(), base, queries, [40, 100])
    for ef, (qps, found) in by_ef.items():
        table.add(
            f"pgvector HNSW (m=16, ef_construction=64), ef_search={ef}",
            build,
            qps,
            recall(found, truth),
        )
    report.notes.append(
        "vectors: MiniLM embeddings of the example reports as centres plus gaussian noise "
        "(sigma 0.04 per dimension, renormalised): clusters of near-duplicates, like re-filed "
        "reports; exact = brute-force cosine in numpy. pgvector queries go over a Unix socket, "
        "one round trip each."
    )
    return report
