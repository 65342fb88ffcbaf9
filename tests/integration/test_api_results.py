"""Results, keyset pagination under concurrent inserts, similar items vs brute force, and
text search with the real MiniLM bundle, against the embedded Postgres + pgvector."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from _stack import Stack
from fastapi.testclient import TestClient
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.api.queries import nearest
from inferstream.models import TextEmbedder, ensure_minilm_bundle
from inferstream.settings import ApiSettings

DIM = 384


def insert_results(
    conn: psycopg.Connection[Any], vectors: np.ndarray, *, status: str = "unique"
) -> list[str]:
    """Rows in ONE transaction, so they share created_at (ties broken by result_id)."""
    ids: list[str] = []
    with conn.transaction():
        for vector in vectors:
            submission_id = str(uuid.uuid4())
            result_id = hashlib.sha256(f"{submission_id}/api-results".encode()).hexdigest()
            duplicate_of = str(uuid.uuid4()) if status == "duplicate" else None
            conn.execute(
                "INSERT INTO results_bug_report (result_id, submission_id, model_name, "
                "model_version, quality_score, low_quality, duplicate_status, duplicate_of, "
                "similar_items, content_sha256, embedding, produced_at) "
                "VALUES (%s, %s, 'minilm', 'v1', 0.9, false, %s, %s, %s, %s, %s, now())",
                (
                    result_id,
                    submission_id,
                    status,
                    duplicate_of,
                    Jsonb([{"submission_id": duplicate_of, "score": 0.9}] if duplicate_of else []),
                    hashlib.sha256(result_id.encode()).hexdigest(),
                    np.asarray(vector, dtype=np.float32),
                ),
            )
            ids.append(result_id)
    return ids


def normalise(vectors: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised.astype(np.float32)


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        yield conn


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-models")


@pytest.fixture(scope="module")
def client(stack: Stack, models_dir: Path) -> Iterator[TestClient]:
    app = create_app(ApiSettings.load(), stack.postgres, models_dir=models_dir)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(db: psycopg.Connection[Any]) -> dict[str, str]:
    key = create_key(
        db, prefix=ApiSettings.load().api_key_prefix, name="results", role=Role.reader, ttl_days=1
    ).key
    return {"Authorization": f"Bearer {key}"}


def test_pages_return_every_row_exactly_once_while_rows_are_inserted(
    client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str]
) -> None:
    rng = np.random.default_rng(11)
    row = db.execute("SELECT now()").fetchone()
    assert row is not None
    since = row[0].isoformat()
    mine: list[str] = []
    for _ in range(3):
        mine += insert_results(db, normalise(rng.standard_normal((8, DIM))))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"since": since, "limit": 7}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get("/v1/results/bug_report", params=params, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 7
        seen += [item["result_id"] for item in page["items"]]
        keys = [(item["created_at"], item["result_id"]) for item in page["items"]]
        assert keys == sorted(keys)
        pages += 1
        if pages <= 3:  # new rows land between page fetches
            mine += insert_results(db, normalise(rng.standard_normal((3, DIM))))
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert set(mine) <= set(seen), "a row was skipped"
    assert len(mine) == 33 and pages >= 5
    # Polling the last cursor later returns exactly the rows added since.
    later = insert_results(db, normalise(rng.standard_normal((2, DIM))))
    tail = client.get(
        "/v1/results/bug_report", params={"cursor": cursor, "limit": 500}, headers=auth
    ).json()
    assert [item["result_id"] for item in tail["items"]] == sorted(later)


def test_the_status_filter_and_single_result(
    client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str]
) -> None:
    (dup,) = insert_results(
        db, normalise(np.random.default_rng(3).standard_normal((1, DIM))), status="duplicate"
    )
    page = client.get(
        "/v1/results/bug_report", params={"status": "duplicate", "limit": 500}, headers=auth
    ).json()
    assert all(item["duplicate_status"] == "duplicate" for item in page["items"])
    one = client.get(f"/v1/results/bug_report/{dup}", headers=auth).json()
    assert one["result_id"] == dup and one["duplicate_status"] == "duplicate"
    assert one["duplicate_of"] == one["similar"][0]["submission_id"]
    assert "embedding" not in one


def test_similar_top5_agrees_with_brute_force_cosine(
    client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str]
) -> None:
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((30, DIM))
    points = np.repeat(centres, 10, axis=0) + 0.6 * rng.standard_normal((300, DIM))
    ids = insert_results(db, normalise(points))
    rows = db.execute("SELECT result_id, embedding FROM results_bug_report").fetchall()
    all_ids = [r[0].strip() for r in rows]
    matrix = normalise(np.stack([np.asarray(r[1].to_numpy()) for r in rows]))
    position = {rid: i for i, rid in enumerate(all_ids)}
    api_hits = index_hits = total = 0
    for result_id in ids[::15]:
        sims = matrix @ matrix[position[result_id]]
        sims[position[result_id]] = -np.inf
        exact = {all_ids[i] for i in np.argsort(-sims)[:5]}
        response = client.get(f"/v1/results/bug_report/{result_id}/similar?k=5", headers=auth)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        got = [item["result"]["result_id"] for item in items]
        assert result_id not in got and len(got) == 5
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True)
        assert abs(scores[0] - float(np.max(sims))) < 1e-3
        api_hits += len(set(got) & exact)
        # On a table this small the planner may prefer an exact scan; force the HNSW index too.
        db.execute("SET enable_seqscan = off")
        try:
            forced = nearest(db, matrix[position[result_id]], 5, exclude_result_id=result_id)
        finally:
            db.execute("RESET enable_seqscan")
        index_hits += len({n.result.result_id for n in forced} & exact)
        total += 5
    assert api_hits / total >= 0.9, f"API recall@5 {api_hits / total:.2f}"
    assert index_hits / total >= 0.9, f"HNSW recall@5 {index_hits / total:.2f}"


def test_similar_items_can_use_the_hnsw_index(db: psycopg.Connection[Any]) -> None:
    query = normalise(np.ones((1, DIM)))[0]
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")
        plan = db.execute(
            "EXPLAIN SELECT result_id FROM results_bug_report r WHERE r.result_id <> %s "
            "ORDER BY r.embedding <=> %s LIMIT 5",
            ("x", query),
        ).fetchall()
    assert "results_bug_report_embedding_hnsw" in "\n".join(row[0] for row in plan)


def test_text_search_embeds_with_the_minilm_bundle(
    client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str], models_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    texts = [
        f"Editor {tag} crashes with a segmentation fault when saving a large file",
        f"Login page {tag} shows a blank screen after entering the password on Safari",
        f"Export {tag} to PDF renders every table with the wrong font size",
    ]
    embedder = TextEmbedder(ensure_minilm_bundle(models_dir), providers=["CPUExecutionProvider"])
    ids = insert_results(db, embedder.embed(texts))
    response = client.post("/v1/search/bug_report", json={"text": texts[1], "k": 3}, headers=auth)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items[0]["result"]["result_id"] == ids[1]
    assert items[0]["score"] > 0.99
    paraphrase = client.post(
        "/v1/search/bug_report",
        json={"text": f"Safari: blank screen after typing password on login page {tag}"},
        headers=auth,
    ).json()["items"]
    assert paraphrase[0]["result"]["result_id"] == ids[1]
