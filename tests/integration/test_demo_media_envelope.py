"""The demo's raw media references on the real S3 server: each reject's bytes hashed once, for
the blob's key and its metadata, and the envelope naming the blob that holds them."""

from __future__ import annotations

from pathlib import Path

import pytest
from _stack import Stack

from inferstream.cli import demo_media
from inferstream.storage import ObjectStore, objectstore, sha256_hex

REJECTS = Path(__file__).resolve().parents[2] / "examples" / "media" / "rejects"


def test_a_reject_is_hashed_once_and_its_envelope_names_the_blob(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []

    def counted(value: bytes) -> str:
        hashed.append(len(value))
        return sha256_hex(value)

    monkeypatch.setattr(objectstore, "sha256_hex", counted)
    monkeypatch.setattr(demo_media, "sha256_hex", counted, raising=False)
    store = ObjectStore(stack.object_store)
    path = REJECTS / "truncated.jpg"
    data = path.read_bytes()
    envelope = demo_media._raw_envelope(store, path)
    assert hashed == [len(data)]
    digest = sha256_hex(data)
    blob = envelope.payload.blob
    assert (blob.sha256, blob.uri) == (digest, store.uri(f"blobs/{digest}"))
    assert (blob.size, blob.content_type) == (len(data), "image/jpeg")
    stat = store.stat(f"blobs/{digest}")
    assert stat is not None and (stat.sha256, stat.size) == (digest, len(data))
    assert store.get_bytes(f"blobs/{digest}") == data
