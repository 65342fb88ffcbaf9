"""The media task end to end on real servers: bytes uploaded through the API's presigned
upload, `POST /v1/submissions/media`, then `GET /v1/submissions/{id}` until `done` with the
verdict; a video's sampled frames; the same bytes again reuse the stored result; corrupt and
mistyped files end `rejected` with their reason."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _small_media import small_media_models
from _stack import Stack
from fastapi.testclient import TestClient

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings
from inferstream.storage import ObjectStore, sha256_hex
from inferstream.training.media_samples import image_bytes, rendered_bytes, video_bytes
from inferstream.verify.artifacts import rows_with_artifacts
from inferstream.workers.supervisor import Supervisor

FRAMES = 4


@pytest.fixture(scope="module")
def models_dir(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A smaller head than the shipped one (same code path), shared with the unit tests.
    return small_media_models(tmp_path_factory)[0]


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        key = create_key(
            conn,
            prefix=ApiSettings.load().api_key_prefix,
            name="media",
            role=Role.producer,
            ttl_days=1,
        ).key
    app = create_app(
        ApiSettings.load(),
        stack.postgres,
        kafka=stack.kafka,
        objects=ObjectStore(stack.object_store),
    )
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def workers(
    stack: Stack, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supervisor]:
    env = {
        "INFERSTREAM_WORKER_MODELS_DIR": str(models_dir),
        "INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS": "20",
        "INFERSTREAM_MEDIA_VIDEO_FRAMES": str(FRAMES),
        "INFERSTREAM_MEDIA_DECODE_PROCESSES": "1",
    }
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    logs = tmp_path_factory.mktemp("media-logs")
    supervisor = Supervisor("media", 1, log_dir=logs)
    supervisor.start()
    try:
        supervisor.wait_ready(timeout_s=240)
        yield supervisor
    finally:
        codes = supervisor.stop()
        mp.undo()
        tails = {p.name: p.read_text()[-2000:] for p in logs.glob("*.log")}
        assert all(code == 0 for code in codes.values()), (codes, tails)


def upload(client: TestClient, auth: dict[str, str], data: bytes, content_type: str) -> Any:
    """The API's claim-check: ticket, PUT to the staging URL, completion -> blob reference."""
    declared = {"sha256": sha256_hex(data), "size": len(data), "content_type": content_type}
    ticket = client.post("/v1/uploads", json=declared, headers=auth)
    assert ticket.status_code == 200, ticket.text
    put = urllib.request.Request(ticket.json()["upload_url"], data=data, method="PUT")
    with urllib.request.urlopen(put, timeout=30) as response:
        assert response.status == 200
    done = client.post(ticket.json()["complete_url"], json=declared, headers=auth)
    assert done.status_code == 200, done.text
    return done.json()


def submit(client: TestClient, auth: dict[str, str], blob: Any, filename: str) -> str:
    payload = {"blob": blob, "filename": filename, "content_type": blob["content_type"]}
    accepted = client.post("/v1/submissions/media", json=payload, headers=auth)
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["submission_id"])


def own_jpeg(data: bytes) -> bytes:
    """The JPEG with a unique comment segment after its JFIF header: bytes no other test (nor an
    earlier run on the same stack) submitted, so the first result cannot be a reused one."""
    assert data[:4] == b"\xff\xd8\xff\xe0"
    end = 4 + int.from_bytes(data[4:6], "big")
    tag = uuid.uuid4().hex.encode()
    return data[:end] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[end:]


def settled(client: TestClient, auth: dict[str, str], sid: str, workers: Supervisor) -> Any:
    deadline = time.monotonic() + 240
    while True:
        status = client.get(f"/v1/submissions/{sid}", headers=auth).json()
        if status["status"] in ("done", "rejected"):
            return status
        assert not workers.failed(), workers.failed()
        assert time.monotonic() < deadline, f"{sid} still {status['status']}"
        time.sleep(0.25)


def test_image_reaches_done_with_verdict_and_reuse(
    stack: Stack, api: tuple[TestClient, dict[str, str]], workers: Supervisor
) -> None:
    client, auth = api
    # The same photo is published by other tests (test_media_publish sends it as cat.jpg); were
    # it scored on this stack before, this first submission would reuse that result.
    blob = upload(client, auth, own_jpeg(image_bytes("chelsea", "JPEG")), "image/jpeg")
    first = settled(client, auth, submit(client, auth, blob, "chelsea.jpg"), workers)
    assert first["status"] == "done", first
    result = first["result"]
    assert result["media_kind"] == "image" and result["label"] in ("real", "fake")
    assert result["reused_from"] is None
    assert any("cat" in top["label"] for top in result["top_k"][:3]), result["top_k"]
    thumbnail = ObjectStore(stack.object_store).get_bytes(result["thumbnail_key"])
    assert thumbnail[:2] == b"\xff\xd8"
    assert result["thumbnail_key"] == f"artifacts/media/{result['result_id']}/thumbnail.jpg"
    # The same bytes again: the stored result is reused, and the result says so.
    again = settled(client, auth, submit(client, auth, blob, "chelsea-copy.jpg"), workers)
    assert again["status"] == "done", again
    assert again["result"]["reused_from"] == first["submission_id"]
    assert again["result"]["label"] == result["label"]
    assert again["result"]["result_id"] != result["result_id"]


def test_video_frames_are_sampled_and_scored(
    stack: Stack, api: tuple[TestClient, dict[str, str]], workers: Supervisor
) -> None:
    client, auth = api
    blob = upload(client, auth, video_bytes(24, "mp4"), "video/mp4")
    status = settled(client, auth, submit(client, auth, blob, "clip.mp4"), workers)
    assert status["status"] == "done", status
    result = status["result"]
    assert result["media_kind"] == "video"
    assert [f["index"] for f in result["frames"]] == [0, 8, 15, 23]
    assert ObjectStore(stack.object_store).get_bytes(result["frames_key"]).startswith(b"[")


def test_corrupt_and_mistyped_files_end_rejected_with_the_reason(
    api: tuple[TestClient, dict[str, str]], workers: Supervisor
) -> None:
    client, auth = api
    truncated = upload(client, auth, image_bytes("rocket", "JPEG")[:4000], "image/jpeg")
    mistyped = upload(client, auth, image_bytes("coffee", "JPEG"), "image/png")
    bad = settled(client, auth, submit(client, auth, truncated, "rocket.jpg"), workers)
    assert bad["status"] == "rejected", bad
    assert bad["rejections"][0]["reason"].startswith("corrupt image"), bad
    wrong = settled(client, auth, submit(client, auth, mistyped, "coffee.png"), workers)
    assert wrong["status"] == "rejected", wrong
    assert wrong["rejections"][0]["reason"] == "Invalid file type", wrong


def test_a_video_damaged_in_the_middle_is_a_dead_letter_with_the_reason(
    api: tuple[TestClient, dict[str, str]], workers: Supervisor
) -> None:
    """Enrich probes a video cheaply (headers, first frame, last group of pictures); the damage
    in the middle is found by infer's one decoding pass and dead-lettered there, with why."""
    client, auth = api
    data = video_bytes(240, "mp4")
    middle = len(data) // 2
    damaged = data[:middle] + b"\xff" * 2000 + data[middle + 2000 :]
    blob = upload(client, auth, damaged, "video/mp4")
    status = settled(client, auth, submit(client, auth, blob, "damaged.mp4"), workers)
    assert status["status"] == "rejected", status
    rejection = status["rejections"][0]
    assert rejection["stage"] == "infer", rejection
    assert "corrupt video" in rejection["reason"], rejection


@pytest.mark.parametrize(
    ("filename", "size", "content_type", "error"),
    [
        ("big.jpg", 60 * 1024 * 1024, "image/jpeg", "File too large"),
        ("empty.jpg", 0, "image/jpeg", "Empty file"),
        ("../up.jpg", 10, "image/jpeg", "Invalid filename"),
        ("anim.gif", 10, "image/gif", "File type not allowed"),
        ("photo.jpg", 10, "video/mp4", "Invalid file type"),
    ],
)
def test_the_api_refuses_what_enrich_would_in_its_words(
    stack: Stack,
    api: tuple[TestClient, dict[str, str]],
    filename: str,
    size: int,
    content_type: str,
    error: str,
) -> None:
    """DeepDetect's rules before anything is published or ticketed: 422 with enrich's words."""
    client, auth = api
    sha = sha256_hex(filename.encode())
    blob = {
        "uri": f"s3://{stack.object_store.bucket}/blobs/{sha}",
        "sha256": sha,
        "size": size,
        "content_type": content_type,
    }
    payload = {"blob": blob, "filename": filename, "content_type": content_type}
    refused = client.post("/v1/submissions/media", json=payload, headers=auth)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == error
    declared = {"sha256": sha, "size": size, "content_type": content_type, "filename": filename}
    ticket = client.post("/v1/uploads", json=declared, headers=auth)
    assert ticket.status_code == 422, ticket.text
    assert ticket.json()["detail"] == error


def test_an_upload_whose_bytes_are_not_its_type_is_refused_at_completion(
    stack: Stack, api: tuple[TestClient, dict[str, str]]
) -> None:
    client, auth = api
    data = image_bytes("coffee", "JPEG")[:-1] + b"\x00"  # bytes of its own: no blob yet
    declared = {
        "sha256": sha256_hex(data),
        "size": len(data),
        "content_type": "image/png",
        "filename": "coffee.png",
    }
    ticket = client.post("/v1/uploads", json=declared, headers=auth)
    assert ticket.status_code == 200, ticket.text
    put = urllib.request.Request(ticket.json()["upload_url"], data=data, method="PUT")
    with urllib.request.urlopen(put, timeout=30) as response:
        assert response.status == 200
    done = client.post(ticket.json()["complete_url"], json=declared, headers=auth)
    assert done.status_code == 422, done.text
    assert done.json()["detail"] == "Invalid file type"
    assert ObjectStore(stack.object_store).stat(f"blobs/{declared['sha256']}") is None


def test_verify_checks_the_artifacts_each_media_row_names(
    stack: Stack, api: tuple[TestClient, dict[str, str]], workers: Supervisor
) -> None:
    client, auth = api
    blob = upload(client, auth, rendered_bytes(77, "PNG"), "image/png")
    status = settled(client, auth, submit(client, auth, blob, "rendered.png"), workers)
    assert status["status"] == "done", status
    result_id = status["result"]["result_id"]
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        assert result_id in (rows_with_artifacts("media", conn) or set())
        store, key = ObjectStore(stack.object_store), status["result"]["thumbnail_key"]
        saved = store.get_bytes(key)
        store.delete(key)
        try:
            assert result_id not in (rows_with_artifacts("media", conn) or set())
        finally:  # the shared stack stays verifiable
            store.put_bytes(key, saved, "image/jpeg")
        assert rows_with_artifacts("bug_report", conn) is None  # no per-result objects
