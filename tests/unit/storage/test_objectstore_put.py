"""What put_bytes sends: one PUT for an object past minio's 5 MiB part size (an archive file
is ~24 MB), not a multipart upload of 5 MiB parts; the object's sha256 in its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from urllib3 import HTTPHeaderDict

from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore, objectstore, sha256_hex
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


def _store() -> tuple[ObjectStore, _Recorder]:
    settings = ObjectStoreSettings(
        endpoint="127.0.0.1:9",
        secure=False,
        access_key=SecretStr("k"),
        secret_key=SecretStr("s"),
        region="us-east-1",  # no location request first
    )
    store, recorder = ObjectStore(settings), _Recorder()
    store._client._http = recorder  # type: ignore[assignment]
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


def test_a_blob_is_hashed_once_for_its_key_and_its_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """put_blob's sha256 names the key and is the metadata: the data (a media file: megabytes)
    is hashed once, not again by the PUT."""
    data = b"a media file" * 1000
    hashed: list[int] = []

    def counted(value: bytes) -> str:
        hashed.append(len(value))
        return sha256_hex(value)

    monkeypatch.setattr(objectstore, "sha256_hex", counted)
    store, recorder = _store()
    info = store.put_blob(data, "image/jpeg")
    assert hashed == [len(data)]
    # The stat (the blob is not there: its size differs), then one PUT under blobs/<sha256>.
    assert [method for method, *_ in recorder.requests] == ["HEAD", "PUT"]
    (_, _, _, put_headers) = recorder.requests[-1]
    assert info.key == f"blobs/{sha256_hex(data)}" == f"blobs/{info.sha256}"
    assert put_headers["x-amz-meta-sha256"] == info.sha256
    assert put_headers["content-type"] == "image/jpeg"
