"""HTTP ingest on real servers: a producer key publishes a validated submission (202 + status
URL, the record on the topic with its key); readers are refused; bad input is a 422 problem;
presigned uploads put bytes in a private staging object in object storage, which becomes a
blob once the API has verified its size and sha256."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest
from _kafka import read_topic
from _stack import Stack
from fastapi.testclient import TestClient

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.schemas import decode_envelope
from inferstream.settings import ApiSettings
from inferstream.storage import ObjectStore

REPORT = {
    "title": "Dark mode toggle resets after restart",
    "description": "The preference is not persisted; every restart comes back light.",
    "product": "notes-app",
}


@pytest.fixture(scope="module")
def ingest(stack: Stack) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        prefix = ApiSettings.load().api_key_prefix
        keys = {
            role.name: create_key(
                conn, prefix=prefix, name=f"ingest-{role.name}", role=role, ttl_days=1
            ).key
            for role in (Role.reader, Role.producer)
        }
    app = create_app(
        ApiSettings.load(),
        stack.postgres,
        kafka=stack.kafka,
        objects=ObjectStore(stack.object_store),
    )
    with TestClient(app) as client:
        yield client, keys


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_producer_submits_and_the_record_reaches_the_topic(
    stack: Stack, ingest: tuple[TestClient, dict[str, str]]
) -> None:
    client, keys = ingest
    response = client.post(
        "/v1/submissions/bug_report", json=REPORT, headers=_auth(keys["producer"])
    )
    assert response.status_code == 202, response.text
    body = response.json()
    sid = body["submission_id"]
    assert body["status"] == "processing"
    assert body["check_url"] == f"/v1/submissions/{sid}"
    status = client.get(body["check_url"], headers=_auth(keys["reader"]))
    # "done" if bug_report workers running on the shared stack were already through with it
    assert status.json()["status"] in ("processing", "done")
    records = read_topic(
        stack.kafka,
        "submissions.bug_report",
        until=lambda got: any(r.key == sid.encode() for r in got),
    )
    record = next(r for r in records if r.key == sid.encode())
    envelope = decode_envelope("bug_report", record.value)
    assert envelope.source == "http"
    assert envelope.payload.title == REPORT["title"]


def test_envelope_form_keeps_the_callers_submission_id(
    ingest: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = ingest
    sid = "01JDAXVG6Y2N5QH3S7W8K9M0PZ"
    response = client.post(
        "/v1/submissions/bug_report",
        json={"submission_id": sid, "payload": REPORT, "tenant": "acme"},
        headers=_auth(keys["producer"]),
    )
    assert response.status_code == 202, response.text
    assert response.json()["submission_id"] == sid


def test_readers_bad_input_and_unknown_tasks_are_refused(
    ingest: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = ingest
    assert client.post("/v1/submissions/bug_report", json=REPORT).status_code == 401
    refused = client.post("/v1/submissions/bug_report", json=REPORT, headers=_auth(keys["reader"]))
    assert refused.status_code == 403
    invalid = client.post(
        "/v1/submissions/bug_report",
        json={**REPORT, "title": "", "severity": "high"},
        headers=_auth(keys["producer"]),
    )
    assert invalid.status_code == 422
    problem = invalid.json()
    assert invalid.headers["content-type"].startswith("application/problem+json")
    assert "payload.title" in problem["detail"] and "payload.severity" in problem["detail"]
    unknown = client.post("/v1/submissions/nope", json=REPORT, headers=_auth(keys["producer"]))
    assert unknown.status_code == 404


def test_presigned_upload_puts_the_blob_in_object_storage(
    stack: Stack, ingest: tuple[TestClient, dict[str, str]]
) -> None:
    client, keys = ingest
    data = os.urandom(10_000)
    digest = hashlib.sha256(data).hexdigest()
    ticket = client.post(
        "/v1/uploads",
        json={"sha256": digest, "size": len(data), "content_type": "image/png"},
        headers=_auth(keys["producer"]),
    )
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    assert body["blob"] == {
        "uri": f"s3://{stack.object_store.bucket}/blobs/{digest}",
        "sha256": digest,
        "size": len(data),
        "content_type": "image/png",
    }
    put = urllib.request.Request(
        body["upload_url"],
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(put, timeout=10) as response:
        assert response.status == 200
    store = ObjectStore(stack.object_store)
    assert store.stat(f"blobs/{digest}") is None  # staged only: nothing trusted yet
    done = client.post(
        body["complete_url"],
        json={"sha256": digest, "size": len(data), "content_type": "image/png"},
        headers=_auth(keys["producer"]),
    )
    assert done.status_code == 200, done.text
    assert done.json() == body["blob"]
    assert store.get_bytes(f"blobs/{digest}", expected_sha256=digest) == data
    assert not store.list_keys("uploads/"), "the staging object is deleted"
