"""Attacks on the real `inferstream api` (uvicorn on the embedded stack, driven with httpx): each
test makes one attack, checks it is refused, and that the service stays healthy.

Client addresses are set with X-Forwarded-For: uvicorn trusts it from 127.0.0.1 (its default
--forwarded-allow-ips), as it would from an ingress, so each test is its own attacker.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import string
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from _stack import Stack, serve_api

from inferstream.api import Role
from inferstream.api.keys import create_key, revoke_key
from inferstream.plugins import load_plugin
from inferstream.schemas.samples import sample_payload
from inferstream.settings import ApiSettings
from inferstream.storage import ObjectStore
from inferstream.workers.sink.writer import DeadLetterRow, PostgresSinkWriter, SinkBatch

PER_PREFIX = 10  # AuthLimits defaults: failed verifies per key prefix and per address
PER_ADDRESS = 20
REPORT = {
    "title": "Export to PDF drops the last page",
    "description": "Exporting a three page note gives a two page PDF, every time.",
    "product": "notes-app",
}


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with serve_api(stack) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def new_key(db: psycopg.Connection[Any], role: Role = Role.reader) -> str:
    prefix = ApiSettings.load().api_key_prefix
    return create_key(db, prefix=prefix, name=f"abuse-{role.name}", role=role, ttl_days=1).key


def wrong_secret(key: str) -> str:
    """The same public prefix with another (well-formed) secret."""
    alphabet = string.ascii_letters + string.digits
    return key[: key.rindex("_") + 1] + "".join(secrets.choice(alphabet) for _ in range(43))


def as_client(address: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": address}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def server_cpu_s(api: httpx.Client) -> float:
    """The API process's CPU seconds, from its own /metrics."""
    match = re.search(r"^process_cpu_seconds_total (\S+)$", api.get("/metrics").text, re.M)
    assert match, "process_cpu_seconds_total missing from /metrics"
    return float(match.group(1))


def read(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return api.get("/v1/results/bug_report?limit=1", headers=headers)


def assert_healthy(api: httpx.Client) -> None:
    assert api.get("/health").status_code == 200
    assert api.get("/ready").status_code == 200


def test_wrong_secrets_for_a_known_prefix_are_throttled_before_argon2(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    victim = new_key(db)
    assert read(api, as_client("192.0.2.1", victim)).status_code == 200  # cached from here on
    attacker = "203.0.113.10"
    start = server_cpu_s(api)
    hashed = [read(api, as_client(attacker, wrong_secret(victim))) for _ in range(PER_PREFIX)]
    hashed_cpu = server_cpu_s(api) - start
    assert [r.status_code for r in hashed] == [401] * PER_PREFIX
    start = server_cpu_s(api)
    refused = [read(api, as_client(attacker, wrong_secret(victim))) for _ in range(3 * PER_PREFIX)]
    refused_cpu = server_cpu_s(api) - start
    assert {r.status_code for r in refused} == {429}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert refused[0].json()["type"] == "urn:inferstream:problem:auth-throttled"
    # Three times the attempts for a fraction of the CPU: none of them reached argon2.
    print(f"throttle: 10 hashed failures {hashed_cpu:.2f} s CPU, 30 refused {refused_cpu:.2f} s")
    assert refused_cpu < hashed_cpu / 3, (refused_cpu, hashed_cpu)
    # The prefix is throttled for every address, but the victim's verified key keeps working.
    assert read(api, as_client("198.51.100.99", wrong_secret(victim))).status_code == 429
    assert read(api, as_client("192.0.2.1", victim)).status_code == 200
    assert_healthy(api)


def test_one_address_spraying_many_prefixes_is_throttled(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    attacker = "203.0.113.20"
    targets = [new_key(db) for _ in range(3)]
    for target in targets[:2]:
        for _ in range(PER_ADDRESS // 2):
            assert read(api, as_client(attacker, wrong_secret(target))).status_code == 401
    third = read(api, as_client(attacker, wrong_secret(targets[2])))
    assert third.status_code == 429, third.text
    # Even its right key is not verified from this address now; from another one it is.
    assert read(api, as_client(attacker, targets[2])).status_code == 429
    assert read(api, as_client("192.0.2.2", targets[2])).status_code == 200
    assert_healthy(api)


def test_a_revoked_key_is_refused_without_hashing(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    revoked, baseline = new_key(db), new_key(db)
    revoke_key(db, revoked[: revoked.rindex("_")])
    start = server_cpu_s(api)
    for _ in range(3):  # the baseline: three verifies that do reach argon2
        assert read(api, as_client("192.0.2.3", wrong_secret(baseline))).status_code == 401
    three_hashes = server_cpu_s(api) - start
    start = server_cpu_s(api)
    answers = [read(api, as_client("203.0.113.30", wrong_secret(revoked))) for _ in range(30)]
    thirty_revoked = server_cpu_s(api) - start
    assert {r.status_code for r in answers} == {401}
    assert "revoked" in answers[0].json()["detail"]
    print(f"revoked: 3 hashed failures {three_hashes:.2f} s CPU, 30 revoked {thirty_revoked:.2f} s")
    assert thirty_revoked < three_hashes, (thirty_revoked, three_hashes)
    assert_healthy(api)


def test_invented_http_methods_do_not_grow_the_metrics(api: httpx.Client) -> None:
    invented = [f"X{uuid.uuid4().hex[:8].upper()}" for _ in range(40)]
    for method in invented:
        assert api.request(method, "/v1/results/bug_report").status_code < 500
    text = api.get("/metrics").text
    assert 'method="OTHER"' in text
    assert not any(method in text for method in invented)
    labels = set(re.findall(r'method="([^"]*)"', text))
    assert labels <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert_healthy(api)


def test_oversized_bodies_are_refused(api: httpx.Client, db: psycopg.Connection[Any]) -> None:
    headers = {**as_client("192.0.2.4", new_key(db)), "Content-Type": "application/json"}
    big = b'{"text": "' + b"a" * (2 * 1024 * 1024) + b'", "k": 3}'
    declared = api.post("/v1/search/bug_report", content=big, headers=headers)
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"].startswith("application/problem+json")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts streamed bytes
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = api.post("/v1/search/bug_report", content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text
    form = api.post(
        "/ui/login",
        content=b"api_key=" + b"a" * (2 * 1024 * 1024),
        headers={"Origin": str(api.base_url).rstrip("/"), **as_client("192.0.2.4")},
    )
    assert form.status_code == 413
    assert_healthy(api)


def sign_in(api: httpx.Client, key: str, **headers: str) -> httpx.Response:
    """POST the sign-in form from a fresh client (its own cookie jar, like a new browser)."""
    with httpx.Client(base_url=api.base_url, timeout=30) as browser:
        return browser.post(
            "/ui/login",
            data={"api_key": key},
            headers={"Origin": str(api.base_url).rstrip("/"), **headers},
            follow_redirects=False,
        )


def with_session(token: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"inferstream_session={token}", **headers}


def test_web_sessions_are_server_side_and_end_at_sign_out(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    key = new_key(db)
    login = sign_in(api, key)
    assert login.status_code == 303, login.text
    token = login.cookies["inferstream_session"]
    assert key not in login.headers["set-cookie"] and token != key
    assert "Secure" not in login.headers["set-cookie"]  # plain http here
    assert api.get("/ui", headers=with_session(token)).status_code == 200
    # A cross-site form can neither sign the user out nor sign someone in.
    for bad in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {}):
        out = api.post("/ui/logout", headers=with_session(token, **bad), follow_redirects=False)
        assert out.status_code == 403, bad
        assert api.post("/ui/login", data={"api_key": key}, headers=bad).status_code == 403
    assert api.get("/ui", headers=with_session(token), follow_redirects=False).status_code == 200
    origin = str(api.base_url).rstrip("/")
    out = api.post("/ui/logout", headers=with_session(token, Origin=origin), follow_redirects=False)
    assert out.status_code == 303
    # A copy of the cookie kept after sign-out is worth nothing: the session is gone.
    after = api.get("/ui", headers=with_session(token), follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"] == "/ui/login"


def test_revoking_the_key_ends_its_web_sessions(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    key = new_key(db)
    token = sign_in(api, key).cookies["inferstream_session"]
    assert api.get("/ui", headers=with_session(token), follow_redirects=False).status_code == 200
    revoke_key(db, key[: key.rindex("_")])
    assert api.get("/ui", headers=with_session(token), follow_redirects=False).status_code == 303


def test_the_session_cookie_is_secure_behind_a_tls_proxy(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    login = sign_in(api, new_key(db), **{"X-Forwarded-Proto": "https"})
    assert login.status_code == 303
    cookie = login.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_another_task_cannot_take_over_a_submission_id(
    api: httpx.Client, db: psycopg.Connection[Any], stack: Stack
) -> None:
    producer = as_client("192.0.2.5", new_key(db, Role.producer))
    victim = str(uuid.uuid4())
    first = api.post(
        "/v1/submissions/bug_report",
        json={"submission_id": victim, "payload": REPORT},
        headers=producer,
    )
    assert first.status_code == 202, first.text
    attack = api.post(
        "/v1/submissions/churn",
        json={"submission_id": victim, "payload": sample_payload("churn")},
        headers=producer,
    )
    assert attack.status_code == 409, attack.text
    # Straight to Kafka (bypassing the API): the churn sink's result and dead letter for the
    # victim's id leave the bug_report submission as it was.
    writer = PostgresSinkWriter(
        stack.postgres.conninfo(), load_plugin("churn").table, "abuse-sink", "churn"
    )
    dead = DeadLetterRow(victim, "enrich", "rejected", "forged", "submissions.churn", 0, 0, b"", {})
    try:
        writer.write(SinkBatch([], [(victim, "churn", "default", "f" * 64)], [], {}))
        writer.write(SinkBatch([], [], [dead], {}))
    finally:
        writer.close()
    status = api.get(f"/v1/submissions/{victim}", headers=producer).json()
    assert status["task"] == "bug_report", status
    # bug_report workers running on the shared stack may have finished the real submission
    # meanwhile; the forged churn result and dead letter must not have ended it either way.
    assert status["status"] in ("processing", "done"), status
    row = db.execute(
        "SELECT task, result_id FROM submissions WHERE submission_id = %s", (victim,)
    ).fetchone()
    assert row is not None and row[0] == "bug_report" and row[1] != "f" * 64, row


def test_task_name_tricks_and_role_escalation_are_refused(
    api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    reader = as_client("192.0.2.6", new_key(db))
    producer = as_client("192.0.2.6", new_key(db, Role.producer))
    for path in (
        "/v1/results/api_keys",
        "/v1/results/..%2Fadmin%2Fkeys",
        "/v1/results/bug_report%00",
        "/v1/results/web_sessions",
        "/v1/results/" + "a" * 300,
    ):
        answer = api.get(path, headers=reader)
        assert answer.status_code in (404, 422), (path, answer.status_code)
        assert "key_hash" not in answer.text and "token" not in answer.text
    for headers in (reader, producer):
        assert api.get("/v1/admin/keys", headers=headers).status_code == 403
        assert api.post("/v1/admin/keys/isk_live_x/revoke", headers=headers).status_code == 403
    assert api.post("/v1/submissions/bug_report", json=REPORT, headers=reader).status_code == 403
    assert_healthy(api)


def upload(api: httpx.Client, producer: dict[str, str], declared: bytes, sent: bytes) -> int:
    """Ask a ticket declaring ``declared``, PUT ``sent``, complete: the completion's status."""
    claim = {
        "sha256": hashlib.sha256(declared).hexdigest(),
        "size": len(declared),
        "content_type": "image/png",
    }
    ticket = api.post("/v1/uploads", json=claim, headers=producer)
    assert ticket.status_code == 200, ticket.text
    put = httpx.put(
        ticket.json()["upload_url"],
        content=sent,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    return api.post(ticket.json()["complete_url"], json=claim, headers=producer).status_code


def test_presigned_uploads_cannot_replace_a_blob_or_exceed_the_declared_size(
    api: httpx.Client, db: psycopg.Connection[Any], stack: Stack
) -> None:
    producer = as_client("192.0.2.7", new_key(db, Role.producer))
    store = ObjectStore(stack.object_store)
    victim = os.urandom(4096)
    key = f"blobs/{hashlib.sha256(victim).hexdigest()}"
    assert upload(api, producer, victim, victim) == 200
    # Other bytes of the same size under the victim's checksum, then a larger body.
    assert upload(api, producer, victim, os.urandom(4096)) == 422
    assert upload(api, producer, victim, victim + os.urandom(64 * 1024)) == 422
    assert store.get_bytes(key) == victim
    # A checksum nobody uploaded yet: a forged body never becomes that blob.
    unborn = os.urandom(2048)
    assert upload(api, producer, unborn, os.urandom(2048)) == 422
    assert store.stat(f"blobs/{hashlib.sha256(unborn).hexdigest()}") is None
    assert_healthy(api)


def test_slow_and_malformed_clients_do_not_stall_the_server(api: httpx.Client) -> None:
    host, port = api.base_url.host, api.base_url.port
    assert port is not None
    slow = []
    try:
        for _ in range(50):  # half-sent requests held open (slowloris)
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"POST /v1/search/bug_report HTTP/1.1\r\nHost: x\r\nContent-Length: 9")
            slow.append(sock)
        started = time.monotonic()
        assert api.get("/health").status_code == 200
        assert time.monotonic() - started < 5
        # A header value with a bare CR, and a request line with a space in the path.
        for raw in (
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Injected: a\rSet-Cookie: b\r\n\r\n",
            b"GET /v1/results/bug report HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(raw)
                answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
            assert b"set-cookie" not in answer.lower()
    finally:
        for sock in slow:
            sock.close()
    assert_healthy(api)
