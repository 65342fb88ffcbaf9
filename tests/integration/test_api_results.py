"""Results, keyset pagination under concurrent inserts, similar items vs brute force, and
text search with the real MiniLM bundle, against the embedded Postgres + pgvector."""

from __future__ import annotations

import contextlib
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
from inferstream.api.task_results import get_task_result, list_task_results
from inferstream.models import TextEmbedder, ensure_minilm_bundle
from inferstream.settings import ApiSettings

DIM = 384


def insert_results(
    conn: psycopg.Connection[Any],
    vectors: np.ndarray,
    *,
    status: str = "unique",
    commit: bool = True,
) -> list[str]:
    """Rows in ONE transaction (they share created_at and txid; seq orders them)."""
    ids: list[str] = []
    with conn.transaction() if commit else contextlib.nullcontext():
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
    position = {rid: i for i, rid in enumerate(mine)}
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
        order = [
            position[item["result_id"]] for item in page["items"] if item["result_id"] in position
        ]
        assert order == sorted(order), "rows of one writer must come in the order they were written"
        pages += 1
        if pages <= 3:  # new rows land between page fetches
            mine += insert_results(db, normalise(rng.standard_normal((3, DIM))))
            position = {rid: i for i, rid in enumerate(mine)}
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
    got = [item["result_id"] for item in tail["items"]]
    # Others' rows (workers on the shared stack) may land meanwhile: ours come, in order, and
    # nothing returned before comes again.
    assert [rid for rid in got if rid in set(later)] == later
    assert not set(got) & set(seen)


def test_a_row_committed_late_by_an_older_transaction_is_not_skipped(
    stack: Stack, client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str]
) -> None:
    """A sink transaction that started first but commits last: created_at (and an identity
    column) would put its row before rows a reader has already paged past."""
    rng = np.random.default_rng(17)
    (marker,) = insert_results(db, normalise(rng.standard_normal((1, DIM))))
    cursor = _cursor_after(client, auth, marker)
    with psycopg.connect(stack.postgres.conninfo()) as slow:
        register_vector(slow)
        (early,) = insert_results(slow, normalise(rng.standard_normal((1, DIM))), commit=False)
        (late,) = insert_results(db, normalise(rng.standard_normal((1, DIM))))
        held = client.get(
            "/v1/results/bug_report", params={"cursor": cursor, "limit": 500}, headers=auth
        ).json()
        # The later writer's row waits until the older transaction has ended...
        assert late not in [item["result_id"] for item in held["items"]]
        assert held["next_cursor"] == cursor
        slow.commit()
    page = client.get(
        "/v1/results/bug_report", params={"cursor": cursor, "limit": 500}, headers=auth
    ).json()
    # ...then both come, older transaction first.
    assert [item["result_id"] for item in page["items"]] == [early, late]


def _cursor_after(client: TestClient, auth: dict[str, str], result_id: str) -> str:
    """Page through everything and return the cursor just after ``result_id``."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get("/v1/results/bug_report", params=params, headers=auth).json()
        cursor = page["next_cursor"]
        ids = [item["result_id"] for item in page["items"]]
        if result_id in ids:
            assert ids[-1] == result_id and not page["has_more"]
            assert cursor is not None
            return cursor
        assert page["has_more"], "the marker row never appeared"


def test_any_task_is_served_from_its_table_and_unknown_ones_are_404(
    client: TestClient, db: psycopg.Connection[Any], auth: dict[str, str]
) -> None:
    ids = insert_results(db, normalise(np.random.default_rng(23).standard_normal((3, DIM))))
    seen: list[str] = []
    after = None
    while True:  # the generic reader pages the bug_report table like any other
        items, after_next, more = list_task_results(
            db, "bug_report", after=after, since=None, limit=50
        )
        seen += [item.result_id for item in items]
        after = after_next or after
        if not more:
            break
    assert seen[-3:] == ids
    one = get_task_result(db, "bug_report", ids[0])
    assert one is not None and one.model_extra is not None
    assert one.model_extra["duplicate_status"] == "unique" and "embedding" not in one.model_extra
    served = client.get("/v1/results/media", headers=auth)  # every task has its table now
    assert served.status_code == 200, served.text
    unknown = client.get("/v1/results/nope", headers=auth)
    assert unknown.status_code == 404, unknown.text
    assert "unknown task" in unknown.json()["detail"]
    missing = client.get(f"/v1/results/media/{'0' * 64}", headers=auth)
    assert missing.status_code == 404


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
        # Without seq scans too (the open tail through its btree; the partial HNSW indexes of
        # closed ranges are tested in test_vector_ranges.py).
        db.execute("SET enable_seqscan = off")
        try:
            forced = nearest(db, matrix[position[result_id]], 5, exclude_result_id=result_id)
        finally:
            db.execute("RESET enable_seqscan")
        index_hits += len({n.result.result_id for n in forced} & exact)
        total += 5
    assert api_hits / total >= 0.9, f"API recall@5 {api_hits / total:.2f}"
    assert index_hits / total >= 0.9, f"index recall@5 {index_hits / total:.2f}"


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
