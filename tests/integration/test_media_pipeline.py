"""The media task end to end on real servers: bytes uploaded through the API's presigned
upload, `POST /v1/submissions/media`, then `GET /v1/submissions/{id}` until `done` with the
verdict; a video's sampled frames; the same bytes again reuse the stored result; corrupt and
mistyped files end `rejected` with their reason."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _stack import Stack
from fastapi.testclient import TestClient

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings
from inferstream.storage import ObjectStore, sha256_hex
from inferstream.training import media
from inferstream.training.media_samples import image_bytes, video_bytes
from inferstream.workers.supervisor import Supervisor

FRAMES = 4


@pytest.fixture(scope="module")
def models_dir(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("media-models")
    media.train(directory, per_photo=6, rendered=80)  # a smaller head, same code path
    return directory


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
    blob = upload(client, auth, image_bytes("chelsea", "JPEG"), "image/jpeg")
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
