"""What put_bytes sends: one PUT for an object past minio's 5 MiB part size (an archive file
is ~24 MB), not a multipart upload of 5 MiB parts; the object's sha256 in its metadata, and
over http the same digest signs the request without minio hashing the body again."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import minio.api
import minio.time
import pytest
from minio import Minio
from pydantic import SecretStr
from urllib3 import HTTPHeaderDict

from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore, sha256_hex
from inferstream.storage.objectstore import single_put_part_size

MIB = 1024 * 1024


@dataclass
class _Response:
    status: int = 200
    headers: HTTPHeaderDict = field(default_factory=lambda: HTTPHeaderDict({"ETag": '"e"'}))
    data: bytes = b""


@dataclass
class _Recorder:
    """Stands in for minio's urllib3 pool: every request is answered 200, empty."""

    requests: list[tuple[str, str, int, dict[str, str]]] = field(default_factory=list)

    def urlopen(self, method: str, url: str, body: Any = None, **kwargs: Any) -> _Response:
        headers = {str(k).lower(): str(v) for k, v in kwargs["headers"].items()}
        self.requests.append((method, urlsplit(url).query, len(body or b""), headers))
        return _Response()

    def clear(self) -> None:  # minio closes its pool on exit
        self.requests.clear()


def _store(secure: bool = False) -> tuple[ObjectStore, _Recorder]:
    settings = ObjectStoreSettings(
        endpoint="127.0.0.1:9",
        secure=secure,
        access_key=SecretStr("k"),
        secret_key=SecretStr("s"),
        region="us-east-1",  # no location request first
    )
    store, recorder = ObjectStore(settings), _Recorder()
    store._client._http = recorder  # type: ignore[attr-defined]
    return store, recorder


@pytest.mark.parametrize("size", [0, 1_000, 5 * MIB, 24 * MIB + 7])
def test_an_object_goes_up_as_one_put_with_its_sha256(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    store, recorder = _store()
    info = store.put_bytes("archive/t/partition=0/results.t+0+0000000000.parquet", data)
    ((method, query, sent, headers),) = recorder.requests
    assert (method, query, sent) == ("PUT", "", size)
    assert headers["x-amz-meta-sha256"] == sha256_hex(data) == info.sha256
    assert info.size == size and info.etag == "e"


def test_past_s3s_single_put_limit_minio_chooses_the_parts() -> None:
    assert single_put_part_size(5 * 1024**3) == 5 * 1024**3
    assert single_put_part_size(5 * 1024**3 + 1) == 0
    assert single_put_part_size(5 * MIB - 1) == 0


@pytest.mark.parametrize("size", [1, 1_000, 6 * MIB])
def test_over_http_the_body_is_hashed_once(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[int] = []
    real = minio.api.sha256_hash
    monkeypatch.setattr(
        minio.api, "sha256_hash", lambda data: hashed.append(len(data or b"")) or real(data)
    )
    data = b"p" * size
    store, recorder = _store()
    store.put_bytes("archive/k.parquet", data)
    ((_, _, sent, headers),) = recorder.requests
    assert sent == size and hashed == [0]  # minio hashed no body byte: put_bytes' digest signs it
    assert headers["x-amz-content-sha256"] == headers["x-amz-meta-sha256"] == sha256_hex(data)
    assert headers["content-length"] == str(size)


def test_the_headers_are_minios_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same headers, signature included, as minio's client builds hashing the body."""
    monkeypatch.setattr(minio.time, "utcnow", lambda: datetime(2026, 12, 7, 18, tzinfo=UTC))
    store, _ = _store()
    client = store._client
    data = bytes(range(256)) * 40
    given = {"x-amz-meta-sha256": sha256_hex(data), "Content-Type": "application/x"}
    creds = client._provider.retrieve()  # type: ignore[attr-defined]
    ours = client._build_headers("h:1", dict(given), data, creds)  # type: ignore[attr-defined]
    theirs = Minio._build_headers(client, "h:1", dict(given), data, creds)  # type: ignore[attr-defined]
    assert ours == theirs


def test_over_https_minio_adds_its_md5() -> None:
    data = b"q" * 10_000
    store, recorder = _store(secure=True)
    store.put_bytes("archive/k.parquet", data)
    ((_, _, sent, headers),) = recorder.requests
    assert sent == len(data) and headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert (
        headers["content-md5"]
        == base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    )
    assert headers["x-amz-meta-sha256"] == sha256_hex(data)
