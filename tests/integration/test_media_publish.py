"""`inferstream publish media FILES|DIR` on real servers: each file is uploaded to
blobs/<sha256> first, then its reference is published; files the seed's rules refuse stop the
run (exit 2) before anything is uploaded or sent."""

from __future__ import annotations

import os
from pathlib import Path

from _kafka import read_topic
from _stack import Stack

from inferstream.schemas import MediaPayload, decode_envelope
from inferstream.storage import ObjectStore, sha256_hex
from inferstream.training.media_samples import image_bytes, video_bytes


def test_a_folder_is_uploaded_then_published_by_reference(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "media"
    (folder / "clips").mkdir(parents=True)
    files = {
        folder / "cat.jpg": image_bytes("chelsea", "JPEG"),
        folder / "coffee.png": image_bytes("coffee", "PNG"),
        folder / "clips" / "grey.mp4": video_bytes(12, "mp4"),
    }
    for path, data in files.items():
        path.write_bytes(data)
    (folder / "notes.txt").write_text("not media: skipped inside a folder")
    result = stack.cli("publish", "media", str(folder))
    assert result.returncode == 0, result.stderr
    assert "uploaded and published 3 files to submissions.media" in result.stdout

    wanted = {sha256_hex(data): path.name for path, data in files.items()}
    seen: dict[str, MediaPayload] = {}

    def all_seen(records: list) -> bool:  # type: ignore[type-arg]
        for record in records:
            payload = decode_envelope("media", record.value).payload
            # the shared stack's topic also holds other tests' submissions of the same bytes
            # (the pipeline test sends this JPEG as chelsea.jpg): match the name as well
            if isinstance(payload, MediaPayload) and wanted.get(payload.blob.sha256) == (
                payload.filename
            ):
                seen[payload.blob.sha256] = payload
        return set(seen) == set(wanted)

    read_topic(stack.kafka, "submissions.media", until=all_seen)
    store = ObjectStore(stack.object_store)
    for sha, payload in seen.items():
        assert payload.filename == wanted[sha]
        assert payload.blob.uri == store.uri(f"blobs/{sha}")
        assert len(store.get_bytes(f"blobs/{sha}", expected_sha256=sha)) == payload.blob.size
    assert seen[sha256_hex(files[folder / "clips" / "grey.mp4"])].content_type == "video/mp4"


def test_refused_files_stop_the_run_with_the_seed_errors(stack: Stack, tmp_path: Path) -> None:
    good = tmp_path / "ok.jpg"
    good.write_bytes(image_bytes("astronaut", "JPEG") + os.urandom(16))  # bytes of its own
    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a" + b"\x00" * 64)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = stack.cli("publish", "media", str(good), str(gif), str(empty))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{gif}: File type not allowed" in result.stderr
    assert f"{empty}: Empty file" in result.stderr
    assert "Traceback" not in result.stderr
    key = f"blobs/{sha256_hex(good.read_bytes())}"
    assert ObjectStore(stack.object_store).stat(key) is None, "nothing uploaded"
