"""The results API against the real embedded Postgres + pgvector: auth matrix, problems,
headers, readiness, metrics, rate limits and key-cache revocation."""

from __future__ import annotations

import hashlib
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import pytest
from _stack import Stack
from fastapi.testclient import TestClient
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key, revoke_key
from inferstream.settings import ApiSettings, PostgresSettings

DIM = 384


@dataclass
class Keys:
    reader: str
    producer: str
    admin: str
    expired: str
    revoked: str


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def insert_result(conn: psycopg.Connection[Any], vector: np.ndarray, **fields: Any) -> str:
    """One results_bug_report row (+ its 'done' submission) with a fresh submission id."""
    submission_id = str(uuid.uuid4())
    result_id = hashlib.sha256(f"{submission_id}/api-test".encode()).hexdigest()
    row = {"duplicate_status": "unique", "low_quality": False, "similar": [], **fields}
    conn.execute(
        "INSERT INTO results_bug_report (result_id, submission_id, model_name, model_version, "
        "quality_score, quality_flags, low_quality, duplicate_status, duplicate_of, "
        "similar_items, content_sha256, embedding, produced_at) "
        "VALUES (%s, %s, 'minilm', 'v1', 0.8, %s, %s, %s, %s, %s, %s, %s, now())",
        (
            result_id,
            submission_id,
            ["no_logs"],
            row["low_quality"],
            row["duplicate_status"],
            row.get("duplicate_of"),
            Jsonb(row["similar"]),
            hashlib.sha256(submission_id.encode()).hexdigest(),
            np.asarray(vector, dtype=np.float32),
        ),
    )
    conn.execute(
        "INSERT INTO submissions (submission_id, task, status, result_id) "
        "VALUES (%s, 'bug_report', 'done', %s)",
        (submission_id, result_id),
    )
    return result_id


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        yield conn


@pytest.fixture(scope="module")
def keys(db: psycopg.Connection[Any]) -> Keys:
    prefix = ApiSettings.load().api_key_prefix

    def make(role: Role) -> str:
        return create_key(db, prefix=prefix, name=f"test-{role.name}", role=role, ttl_days=1).key

    expired = create_key(db, prefix=prefix, name="test-expired", role=Role.admin, ttl_days=1)
    db.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = %s",
        (expired.record.id,),
    )
    revoked = create_key(db, prefix=prefix, name="test-revoked", role=Role.admin, ttl_days=1)
    revoke_key(db, revoked.record.key_prefix)
    return Keys(make(Role.reader), make(Role.producer), make(Role.admin), expired.key, revoked.key)


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[TestClient]:
    app = create_app(ApiSettings.load(), stack.postgres, embed=lambda text: unit_for(text))
    # Its own client address: failed verifies are counted per address in the shared database.
    with TestClient(app, client=("192.0.2.100", 50000)) as test_client:
        yield test_client


def unit_for(text: str) -> np.ndarray:
    """A deterministic stand-in embedder for these tests (the real model: test_api_results)."""
    return unit(np.random.default_rng(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)))


@pytest.fixture(scope="module")
def result_id(db: psycopg.Connection[Any]) -> str:
    return insert_result(db, unit(np.random.default_rng(7)))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# (method, path template, JSON body, lowest role)
ROUTES: list[tuple[str, str, dict[str, Any] | None, Role]] = [
    ("GET", "/v1/submissions/{submission_id}", None, Role.reader),
    ("GET", "/v1/results/bug_report", None, Role.reader),
    ("GET", "/v1/results/bug_report/{result_id}", None, Role.reader),
    ("GET", "/v1/results/bug_report/{result_id}/similar?k=3", None, Role.reader),
    ("POST", "/v1/search/bug_report", {"text": "app crashes on save", "k": 3}, Role.reader),
    # Any other task's table, served generically (churn: migration 0006).
    ("GET", "/v1/results/churn?limit=2", None, Role.reader),
    ("GET", "/v1/admin/keys", None, Role.admin),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _, _ in ROUTES]


def call(
    client: TestClient,
    route: tuple[str, str, dict[str, Any] | None, Role],
    result_id: str,
    headers: dict[str, str],
) -> Any:
    method, template, body, _ = route
    path = template.format(result_id=result_id, submission_id=str(uuid.uuid4()))
    return client.request(method, path, json=body, headers=headers)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_each_route_accepts_a_valid_key_of_every_allowed_role(
    client: TestClient, keys: Keys, result_id: str, route: Any
) -> None:
    for role in Role:
        key = getattr(keys, role.name)
        response = call(client, route, result_id, bearer(key))
        if role >= route[3]:
            assert response.status_code == 200, (role, response.text)
        else:
            body = assert_problem(response, 403)
            assert route[3].name in body["detail"]


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_each_route_refuses_missing_invalid_expired_and_revoked_keys(
    client: TestClient, keys: Keys, result_id: str, route: Any
) -> None:
    forged = keys.admin[:-5] + "AAAAA"
    cases = {
        "missing": {},
        "not a key": bearer("hello"),
        "wrong secret": bearer(forged),
        "unknown prefix": bearer(ApiSettings.load().api_key_prefix + "zzzzzzzz_" + "A" * 40),
        "expired": bearer(keys.expired),
        "revoked": bearer(keys.revoked),
        "expired in X-API-Key": {"X-API-Key": keys.expired},
    }
    for case, headers in cases.items():
        response = call(client, route, result_id, headers)
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer"), case
        if case.startswith("expired"):
            assert "expired" in body["detail"]
        if case == "revoked":
            assert "revoked" in body["detail"]


def test_the_web_view_refuses_missing_invalid_expired_and_revoked_keys(
    client: TestClient, keys: Keys
) -> None:
    # The cookie holds a server-side session token: a key (even a valid one) is no session.
    for case, cookie in {
        "missing": None,
        "forged": keys.admin[:-5] + "AAAAA",
        "expired": keys.expired,
        "revoked": keys.revoked,
        "a valid key instead of a session": keys.reader,
    }.items():
        for path in ("/ui", f"/ui/submissions/{uuid.uuid4()}"):
            client.cookies.clear()
            if cookie is not None:
                client.cookies.set("inferstream_session", cookie)
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, (case, path)
            assert response.headers["location"] == "/ui/login"
    client.cookies.clear()
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://testserver"}
    login = client.post(
        "/ui/login", content=f"api_key={keys.revoked}", follow_redirects=False, headers=form
    )
    assert login.status_code == 401 and "revoked" in login.text
    assert "inferstream_session" not in login.headers.get("set-cookie", "")
    login = client.post(
        "/ui/login", content=f"api_key={keys.reader}", follow_redirects=False, headers=form
    )
    assert login.status_code == 303
    token = client.cookies["inferstream_session"]
    assert token and keys.reader not in login.headers["set-cookie"]
    ok = client.get("/ui")
    assert ok.status_code == 200 and "<h1>Bug reports</h1>" in ok.text
    assert "style-src 'self'" in ok.headers["content-security-policy"]
    client.cookies.clear()


def test_the_x_api_key_header_works_too(client: TestClient, keys: Keys, result_id: str) -> None:
    response = client.get(f"/v1/results/bug_report/{result_id}", headers={"X-API-Key": keys.reader})
    assert response.status_code == 200
    assert response.json()["result_id"] == result_id


def test_a_key_records_its_last_use(
    client: TestClient, keys: Keys, db: psycopg.Connection[Any]
) -> None:
    client.get("/v1/results/bug_report?limit=1", headers=bearer(keys.producer))
    prefix = keys.producer.split("_")[-2][-8:]
    row = db.execute(
        "SELECT last_used_at FROM api_keys WHERE key_prefix LIKE %s", (f"%{prefix}",)
    ).fetchone()
    assert row is not None and row[0] is not None


def test_ops_routes_need_no_key(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_errors_are_problem_objects(client: TestClient, keys: Keys) -> None:
    auth = bearer(keys.reader)
    missing = client.get(f"/v1/results/bug_report/{'0' * 64}", headers=auth)
    assert_problem(missing, 404)
    assert missing.json()["type"] == "urn:inferstream:problem:not-found"
    assert_problem(client.get(f"/v1/results/bug_report/{'0' * 64}/similar", headers=auth), 404)
    assert_problem(client.get("/v1/no/such/route", headers=auth), 404)
    bad_id = assert_problem(client.get("/v1/results/bug_report/NOT-HEX", headers=auth), 422)
    assert bad_id["errors"][0]["loc"] == ["path", "result_id"]
    assert_problem(client.get("/v1/results/bug_report?limit=0", headers=auth), 422)
    assert_problem(client.get("/v1/results/bug_report?limit=501", headers=auth), 422)
    assert_problem(client.get("/v1/results/bug_report?status=nope", headers=auth), 422)
    assert_problem(client.get(f"/v1/results/bug_report/{'0' * 64}/similar?k=51", headers=auth), 422)
    assert_problem(client.get("/v1/results/bug_report?cursor=garbage", headers=auth), 400)
    secret = "do-not-echo-this-secret"
    search = client.post("/v1/search/bug_report", json={"text": "", "k": secret}, headers=auth)
    assert_problem(search, 422)
    assert secret not in search.text
    assert_problem(client.post("/v1/search/bug_report", content=b"{", headers=auth), 422)
    assert_problem(client.delete("/health"), 405)


def test_security_headers_everywhere_and_hsts_only_with_tls(
    client: TestClient, stack: Stack, keys: Keys
) -> None:
    for response in (
        client.get("/health"),
        client.get("/v1/results/bug_report?limit=1", headers=bearer(keys.reader)),
        client.get("/v1/results/bug_report"),  # 401
        client.get("/nope"),  # 404
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers
    tls = TestClient(create_app(ApiSettings.load(tls_enabled=True), stack.postgres))
    assert tls.get("/health").headers["strict-transport-security"].startswith("max-age=")


def test_cors_allows_only_configured_origins(stack: Stack) -> None:
    settings = ApiSettings.load(cors_origins=["https://portal.example.com"])
    cors = TestClient(create_app(settings, stack.postgres))
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = cors.options(
        "/v1/results/bug_report", headers={"Origin": "https://portal.example.com", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.com"
    other = cors.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_by_route_template(client: TestClient, keys: Keys) -> None:
    client.get(f"/v1/results/bug_report/{'1' * 64}", headers=bearer(keys.reader))
    text = client.get("/metrics").text
    assert (
        'api_requests_total{method="GET",route="/v1/results/bug_report/{result_id}",status="404"}'
        in text
    )
    assert "api_request_duration_seconds_bucket" in text
    assert "1" * 64 not in text


def test_ready_is_503_when_postgres_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = PostgresSettings.load(host="127.0.0.1", port=port, pool_min_size=0, connect_timeout_s=1)
    with TestClient(create_app(ApiSettings.load(), down)) as unready:
        assert unready.get("/health").status_code == 200
        body = assert_problem(unready.get("/ready"), 503)
        assert "postgres" in body["detail"]


def test_ready_names_every_unreachable_dependency(stack: Stack) -> None:
    def broken() -> bool:
        raise ConnectionError("refused")

    checks = {"s3": lambda: True, "kafka": broken}
    with TestClient(create_app(ApiSettings.load(), stack.postgres, ready_checks=checks)) as app:
        body = assert_problem(app.get("/ready"), 503)
        assert body["detail"] == "not reachable: kafka"
    healthy = {"s3": lambda: True, "kafka": lambda: True}
    with TestClient(create_app(ApiSettings.load(), stack.postgres, ready_checks=healthy)) as app:
        assert app.get("/ready").status_code == 200


def test_a_flood_of_ready_probes_checks_the_dependencies_once_per_interval(stack: Stack) -> None:
    clock, probes = FakeClock(), []
    checks = {"kafka": lambda: probes.append(clock.now) is None}
    app = create_app(ApiSettings.load(), stack.postgres, ready_checks=checks, clock=clock)
    with TestClient(app) as client:
        for _ in range(50):
            assert client.get("/ready").status_code == 200
        assert len(probes) == 1
        clock.now += 5.1  # READY_CACHE_S later the next probe checks again
        assert client.get("/ready").status_code == 200
        assert len(probes) == 2


def fresh_key(db: psycopg.Connection[Any], role: Role = Role.reader) -> str:
    """A key no other test has used: the rate-limit rows in Postgres are shared by every app."""
    prefix = ApiSettings.load().api_key_prefix
    return create_key(db, prefix=prefix, name=f"test-fresh-{role.name}", role=role, ttl_days=1).key


def test_the_limit_plus_first_request_in_the_window_gets_429(
    stack: Stack, db: psycopg.Connection[Any], result_id: str
) -> None:
    clock = FakeClock()
    reader, producer = fresh_key(db), fresh_key(db, Role.producer)
    settings = ApiSettings.load(rate_reads_per_hour=3, rate_writes_per_hour=1)
    with TestClient(create_app(settings, stack.postgres, clock=clock)) as limited:
        path = f"/v1/results/bug_report/{result_id}"
        for remaining in (2, 1, 0):
            ok = limited.get(path, headers=bearer(reader))
            assert ok.status_code == 200
            assert ok.headers["ratelimit-remaining"] == str(remaining)
        clock.now += 600
        refused = limited.get(path, headers=bearer(reader))
        body = assert_problem(refused, 429)
        assert body["type"] == "urn:inferstream:problem:rate-limited"
        assert int(refused.headers["retry-after"]) == 3000
        # Search counts as a read; another key has its own budget; writes are a separate class.
        search = {"text": "x"}
        searched = limited.post("/v1/search/bug_report", json=search, headers=bearer(reader))
        assert_problem(searched, 429)
        assert limited.get(path, headers=bearer(producer)).status_code == 200
        # The window slides: an hour after the first requests the key is admitted again.
        clock.now += 3000
        assert limited.get(path, headers=bearer(reader)).status_code == 200


def test_replicas_share_one_rate_limit(
    stack: Stack, db: psycopg.Connection[Any], result_id: str
) -> None:
    key, path = fresh_key(db), f"/v1/results/bug_report/{result_id}"
    settings = ApiSettings.load(rate_reads_per_hour=3)
    first, second = (create_app(settings, stack.postgres) for _ in range(2))
    with TestClient(first) as one, TestClient(second) as other:
        answers = [client.get(path, headers=bearer(key)) for client in (one, other, one)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        # Per process, each replica would still have budget left; shared, neither has.
        assert_problem(other.get(path, headers=bearer(key)), 429)
        assert_problem(one.get(path, headers=bearer(key)), 429)


def test_a_revocation_takes_effect_within_the_key_cache_ttl(
    stack: Stack, db: psycopg.Connection[Any], result_id: str
) -> None:
    clock = FakeClock()
    prefix = ApiSettings.load().api_key_prefix
    new = create_key(db, prefix=prefix, name="test-cache", role=Role.reader, ttl_days=1)
    # Without the NOTIFY listener (a replica whose LISTEN connection is down): the TTL bounds it.
    app = create_app(
        ApiSettings.load(),
        stack.postgres,
        key_cache_ttl_s=30.0,
        clock=clock,
        listen_revocations=False,
    )
    path = f"/v1/results/bug_report/{result_id}"
    with TestClient(app) as api:
        assert api.get(path, headers=bearer(new.key)).status_code == 200
        revoke_key(db, new.record.key_prefix)
        clock.now += 29  # still cached: no database round trip, no argon2
        assert api.get(path, headers=bearer(new.key)).status_code == 200
        clock.now += 2
        assert_problem(api.get(path, headers=bearer(new.key)), 401)


def test_revoking_through_the_admin_api_is_immediate(
    client: TestClient, db: psycopg.Connection[Any], keys: Keys, result_id: str
) -> None:
    prefix = ApiSettings.load().api_key_prefix
    victim = create_key(db, prefix=prefix, name="test-victim", role=Role.reader, ttl_days=1)
    path = f"/v1/results/bug_report/{result_id}"
    assert client.get(path, headers=bearer(victim.key)).status_code == 200
    revoke_path = f"/v1/admin/keys/{victim.record.key_prefix}/revoke"
    assert_problem(client.post(revoke_path, headers=bearer(keys.reader)), 403)
    revoked = client.post(revoke_path, headers=bearer(keys.admin))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert_problem(client.get(path, headers=bearer(victim.key)), 401)
    listing = client.get("/v1/admin/keys", headers=bearer(keys.admin)).text
    assert victim.record.key_prefix in listing
    assert victim.key not in listing and "argon2" not in listing


def test_submission_status_processing_done_rejected_unknown(
    client: TestClient, db: psycopg.Connection[Any], keys: Keys, result_id: str
) -> None:
    auth = bearer(keys.reader)
    done_id = db.execute(
        "SELECT submission_id FROM results_bug_report WHERE result_id = %s", (result_id,)
    ).fetchone()
    assert done_id is not None
    done = client.get(f"/v1/submissions/{done_id[0]}", headers=auth).json()
    assert done["status"] == "done"
    assert done["result"]["result_id"] == result_id

    processing_id, rejected_id, unknown_id = (str(uuid.uuid4()) for _ in range(3))
    db.execute(
        "INSERT INTO submissions (submission_id, task, status) VALUES (%s, 'bug_report', "
        "'processing')",
        (processing_id,),
    )
    db.execute(
        "INSERT INTO submissions (submission_id, task, status, reason) "
        "VALUES (%s, 'bug_report', 'rejected', 'description: too short')",
        (rejected_id,),
    )
    db.execute(
        "INSERT INTO dead_letters (submission_id, task, stage, kind, reason, original_topic, "
        "original_partition, original_offset, payload) VALUES (%s, 'bug_report', 'enrich', "
        "'rejected', 'description: too short', 'submissions.bug_report', 0, %s, '\\x00')",
        (rejected_id, uuid.UUID(rejected_id).int % 2**62),
    )
    processing = client.get(f"/v1/submissions/{processing_id}", headers=auth).json()
    assert processing["status"] == "processing" and processing["result"] is None
    rejected = client.get(f"/v1/submissions/{rejected_id}", headers=auth).json()
    assert rejected["status"] == "rejected"
    assert rejected["reason"] == "description: too short"
    assert rejected["rejections"][0]["stage"] == "enrich"
    unknown = client.get(f"/v1/submissions/{unknown_id}", headers=auth).json()
    assert unknown == {**unknown, "status": "unknown", "result": None}


def test_since_takes_only_iso_8601_date_times(client: TestClient, keys: Keys) -> None:
    for bad in ("0.5", "1733475600", "yesterday"):
        response = client.get(f"/v1/results/churn?since={bad}", headers=bearer(keys.reader))
        assert_problem(response, 422)
    good = client.get(
        "/v1/results/churn?since=2026-12-06T00:00:00Z&limit=1", headers=bearer(keys.reader)
    )
    assert good.status_code == 200, good.text


def test_a_405_names_every_method_served_at_the_path(client: TestClient, keys: Keys) -> None:
    # GET /v1/submissions/{submission_id} and POST /v1/submissions/{task} share a path shape.
    for method in ("OPTIONS", "PUT", "DELETE"):
        response = client.request(method, "/v1/submissions/bug_report", headers=bearer(keys.admin))
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, POST", method
    response = client.request("PATCH", "/v1/admin/keys", headers=bearer(keys.admin))
    assert response.headers["allow"] == "GET"


def test_a_revocation_reaches_every_replica_before_its_cache_ttl(
    stack: Stack, db: psycopg.Connection[Any]
) -> None:
    key = create_key(
        db, prefix=ApiSettings.load().api_key_prefix, name="replicas", role=Role.reader, ttl_days=1
    )
    replicas = [
        create_app(ApiSettings.load(), stack.postgres, key_cache_ttl_s=3600.0) for _ in range(2)
    ]
    with TestClient(replicas[0]) as first, TestClient(replicas[1]) as second:
        for client in (first, second):
            assert client.app.state.revocations.wait_listening(60)  # type: ignore[attr-defined]
            assert client.get("/v1/admin/keys", headers=bearer(key.key)).status_code == 403
        # Revoked outside both (as `inferstream keys revoke` does): both caches still hold the
        # key for an hour, so only the NOTIFY can end it.
        revoke_key(db, key.record.key_prefix)
        for client in (first, second):
            # A bound for a loaded machine, not the NOTIFY's latency (milliseconds when quiet);
            # the cache would hold the key for an hour without it.
            deadline = time.monotonic() + 60
            while client.get("/v1/results/churn", headers=bearer(key.key)).status_code != 401:
                assert time.monotonic() < deadline, "the revocation did not reach this replica"
                time.sleep(0.05)


def test_replicas_share_the_failed_verify_budget(stack: Stack, db: psycopg.Connection[Any]) -> None:
    key = fresh_key(db)
    forged = key[:-6] + "ZZZZZZ"
    first, second = (create_app(ApiSettings.load(), stack.postgres) for _ in range(2))
    address = ("192.0.2.101", 50000)
    with TestClient(first, client=address) as one, TestClient(second, client=address) as other:
        for client in (one, other) * 5:  # 10 failures for the prefix, spread over both
            assert_problem(client.get("/v1/results/churn", headers=bearer(forged)), 401)
        for client in (one, other):
            body = assert_problem(client.get("/v1/results/churn", headers=bearer(forged)), 429)
            assert body["type"] == "urn:inferstream:problem:auth-throttled"
