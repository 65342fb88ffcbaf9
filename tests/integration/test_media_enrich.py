"""media enrich against the real object store (SeaweedFS): the five DeepDetect error strings,
the reference and checksum checks, corrupt files, and what an accepted file becomes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from _stack import Stack

from inferstream.plugins import Rejection
from inferstream.schemas import Envelope, build_envelope, get_task
from inferstream.schemas._base import MAX_MEDIA_BYTES
from inferstream.storage import ObjectStore, sha256_hex
from inferstream.tasks.media.enrich import MediaEnrichment
from inferstream.tasks.media.plugin import MediaPlugin
from inferstream.training.media_samples import image_bytes, video_bytes
from inferstream.workers.enrich.driver import encode_enriched
from inferstream.workers.infer.driver import decode_enriched

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "gif": "image/gif",
}


@pytest.fixture(scope="module")
def store(stack: Stack) -> ObjectStore:
    return ObjectStore(stack.object_store)


@pytest.fixture(scope="module")
def plugin(stack: Stack) -> MediaPlugin:
    return MediaPlugin()


def envelope(
    store: ObjectStore,
    data: bytes,
    filename: str,
    *,
    upload: bool = True,
    **blob: Any,
) -> Envelope[Any]:
    ext = filename.rsplit(".", 1)[-1].lower()
    content_type = blob.pop("content_type", CONTENT_TYPES.get(ext, "image/jpeg"))
    sha = blob.pop("sha256", sha256_hex(data))
    if upload:
        store.put_bytes(f"blobs/{sha}", data, content_type)
    reference = {
        "uri": blob.pop("uri", store.uri(f"blobs/{sha}")),
        "sha256": sha,
        "size": blob.pop("size", len(data)),
        "content_type": content_type,
    }
    payload = {"blob": reference, "filename": filename, "content_type": content_type}
    return build_envelope("media", payload)


def reason(plugin: MediaPlugin, env: Envelope[Any]) -> str:
    (out,) = plugin.enrich([env])
    assert isinstance(out, Rejection), out
    return out.reason


def test_the_five_seed_error_strings(plugin: MediaPlugin, store: ObjectStore) -> None:
    jpeg = image_bytes("chelsea", "JPEG")
    too_large = envelope(store, jpeg, "big.jpg", upload=False, size=MAX_MEDIA_BYTES + 1)
    assert reason(plugin, too_large) == "File too large"
    assert reason(plugin, envelope(store, b"", "empty.jpg")) == "Empty file"
    assert reason(plugin, envelope(store, jpeg, "../../etc/cat.jpg")) == "Invalid filename"
    assert reason(plugin, envelope(store, jpeg, "cat.gif")) == "File type not allowed"
    # JPEG bytes declared as a PNG: the type sniffed from the bytes does not match.
    assert reason(plugin, envelope(store, jpeg, "cat.png")) == "Invalid file type"


def test_references_only_into_the_projects_blobs(plugin: MediaPlugin, store: ObjectStore) -> None:
    jpeg = image_bytes("coffee", "JPEG")
    sha = sha256_hex(jpeg)
    other = envelope(store, jpeg, "a.jpg", uri=f"s3://someone-else/blobs/{sha}")
    assert "is not s3://" in reason(plugin, other)
    local = envelope(store, jpeg, "a.jpg", uri="file:///etc/passwd")
    assert "is not s3://" in reason(plugin, local)
    elsewhere = envelope(store, jpeg, "a.jpg", uri=store.uri("uploads/x"))
    assert "is not s3://" in reason(plugin, elsewhere)


def test_stored_bytes_are_checked_against_the_reference(
    plugin: MediaPlugin, store: ObjectStore
) -> None:
    jpeg = image_bytes("astronaut", "JPEG")
    claimed = hashlib.sha256(b"other bytes").hexdigest()
    swapped = envelope(store, jpeg, "a.jpg", sha256=claimed)  # stored under the claimed name
    assert reason(plugin, swapped) == "the stored object's sha256 does not match the reference"
    short = envelope(store, jpeg, "a.jpg", size=len(jpeg) + 1)
    assert reason(plugin, short).startswith(f"stored object is {len(jpeg)} bytes")
    missing = envelope(store, b"never uploaded", "a.jpg", upload=False)
    assert reason(plugin, missing).startswith("no stored object at s3://")


def test_corrupt_files_are_rejections_with_the_decoders_reason(
    plugin: MediaPlugin, store: ObjectStore
) -> None:
    truncated_jpeg = image_bytes("rocket", "JPEG")[:4000]
    assert reason(plugin, envelope(store, truncated_jpeg, "r.jpg")).startswith("corrupt image")
    truncated_mp4 = video_bytes(24, "mp4")[:600]
    assert reason(plugin, envelope(store, truncated_mp4, "v.mp4")).startswith("corrupt video")


def test_a_webp_is_checked_by_its_structure(plugin: MediaPlugin, store: ObjectStore) -> None:
    """Truncated: a rejection with the container's reason. Damaged only in its compressed
    data: accepted here (no decode in enrich); infer's decode refuses it, a dead letter
    (tests/unit/tasks/media/test_webp.py)."""
    data = image_bytes("coffee", "WEBP")
    truncated = reason(plugin, envelope(store, data[: len(data) // 3], "c.webp"))
    assert truncated.startswith("corrupt image: RIFF size") and "truncated" in truncated
    damaged = data[:40] + b"\xff" * 64 + data[104:]
    (out,) = plugin.enrich([envelope(store, damaged, "d.webp")])
    assert isinstance(out, MediaEnrichment) and (out.width, out.height) == (600, 400), out


def test_accepted_files_and_their_enriched_record(plugin: MediaPlugin, store: ObjectStore) -> None:
    image = envelope(store, image_bytes("chelsea", "PNG"), "chelsea.png")
    video = envelope(store, video_bytes(20, "mp4"), "clip.mp4")
    out_image, out_video = plugin.enrich([image, video])
    assert isinstance(out_image, MediaEnrichment) and isinstance(out_video, MediaEnrichment)
    assert (out_image.media_kind, out_image.width, out_image.height) == ("image", 451, 300)
    assert (out_video.media_kind, out_video.frame_count) == ("video", 20)
    assert "video/mp4" in out_video.sniffed_types
    # The record infer reads back is the same envelope and enrichment (its fast decode).
    model = get_task("media").envelope_model
    for env, enrichment in ((image, out_image), (video, out_video)):
        item = decode_enriched(encode_enriched(env, enrichment), model, MediaEnrichment)
        assert item.envelope == env and item.enrichment == enrichment
