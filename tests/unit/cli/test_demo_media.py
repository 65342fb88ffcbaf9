"""The demo's raw media references: each reject's bytes hashed once, for the blob's key and its
metadata, and the envelope naming that blob."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from urllib3 import HTTPHeaderDict

from inferstream.cli import demo_media
from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore, objectstore, sha256_hex

REJECTS = Path(__file__).resolve().parents[3] / "examples" / "media" / "rejects"


@dataclass
class _Response:
    status: int = 200
    headers: HTTPHeaderDict = field(default_factory=lambda: HTTPHeaderDict({"ETag": '"e"'}))
    data: bytes = b""


@dataclass
class _Pool:
    """Stands in for minio's urllib3 pool: every request answered 200, empty (a HEAD of size 0:
    no such blob yet)."""

    methods: list[str] = field(default_factory=list)

    def urlopen(self, method: str, url: str, body: Any = None, **kwargs: Any) -> _Response:
        self.methods.append(method)
        return _Response()

    def clear(self) -> None:
        self.methods.clear()


def test_a_reject_is_hashed_once_and_its_envelope_names_the_blob(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[int] = []

    def counted(value: bytes) -> str:
        hashed.append(len(value))
        return sha256_hex(value)

    monkeypatch.setattr(objectstore, "sha256_hex", counted)
    monkeypatch.setattr(demo_media, "sha256_hex", counted)
    settings = ObjectStoreSettings(
        endpoint="127.0.0.1:9",
        secure=False,
        access_key=SecretStr("k"),
        secret_key=SecretStr("s"),
        region="us-east-1",
    )
    store, pool = ObjectStore(settings), _Pool()
    store._client._http = pool  # type: ignore[assignment]
    path = REJECTS / "truncated.jpg"
    data = path.read_bytes()
    envelope = demo_media._raw_envelope(store, path)
    assert hashed == [len(data)]
    assert pool.methods == ["HEAD", "PUT"]
    blob = envelope.payload.blob
    assert blob.sha256 == sha256_hex(data)
    assert blob.uri == store.uri(f"blobs/{sha256_hex(data)}")
    assert (blob.size, blob.content_type) == (len(data), "image/jpeg")
