"""Object store on a real S3 server (SeaweedFS) through the minio client."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest
from _stack import Stack

from inferstream.stack.state import StackState
from inferstream.storage import ChecksumMismatch, ObjectNotFound, ObjectStore, sha256_hex


def test_blob_put_get_round_trip_with_checksum(stack: Stack) -> None:
    store = ObjectStore(stack.object_store)
    data = os.urandom(200_000)
    info = store.put_blob(data, "application/octet-stream")
    assert info.key == f"blobs/{sha256_hex(data)}"
    assert info.sha256 == sha256_hex(data) and info.size == len(data)
    stat = store.stat(info.key)
    assert stat is not None and stat.sha256 == info.sha256 and stat.size == len(data)
    assert store.get_bytes(info.key) == data
    assert store.get_bytes(info.key, expected_sha256=info.sha256) == data
    with pytest.raises(ChecksumMismatch):
        store.get_bytes(info.key, expected_sha256="0" * 64)
    # Content addressing: the same bytes map to the same key.
    assert store.put_blob(data).key == info.key


def test_presigned_get_and_put(stack: Stack) -> None:
    store = ObjectStore(stack.object_store)
    data = b"presigned round trip " + os.urandom(64)
    key = f"blobs/{sha256_hex(data)}"
    request = urllib.request.Request(
        store.presign_put(key, 300),
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert store.get_bytes(key, expected_sha256=sha256_hex(data)) == data
    with urllib.request.urlopen(store.presign_get(key, 300), timeout=10) as response:
        assert response.read() == data


def test_missing_object(stack: Stack) -> None:
    store = ObjectStore(stack.object_store)
    assert store.stat("blobs/does-not-exist") is None
    with pytest.raises(ObjectNotFound):
        store.get_bytes("blobs/does-not-exist")


def test_without_static_keys_the_aws_credential_chain_is_used(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No keys in the settings (an EKS pod with an IAM role): credentials come from the AWS
    chain; here its first link, the AWS_* variables, hold the embedded server's keys."""
    settings = stack.object_store
    assert settings.access_key is not None and settings.secret_key is not None
    keyless = settings.model_copy(update={"access_key": None, "secret_key": None})
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert not ObjectStore(keyless).ping(), "keyless access must not be anonymous"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", settings.access_key.get_secret_value())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", settings.secret_key.get_secret_value())
    store = ObjectStore(keyless)
    assert store.ping()
    info = store.put_blob(b"through the chain", "text/plain")
    assert store.get_bytes(info.key, expected_sha256=info.sha256) == b"through the chain"


def test_the_embedded_s3_reports_nothing_off_the_machine(stack: Stack) -> None:
    # weed sends cluster statistics to telemetry.seaweedfs.com unless told not to.
    seaweed = StackState.load(stack.data_dir).seaweed
    assert seaweed is not None
    argv = Path(f"/proc/{seaweed.pid}/cmdline").read_bytes().split(b"\0")
    assert b"-master.telemetry=false" in argv


def test_an_object_past_the_multipart_part_size_goes_up_whole_and_reads_back(stack: Stack) -> None:
    """An archive file is ~24 MB: put_bytes sends it as one PUT (S3 takes up to 5 GiB), the
    server stores it whole with its sha256, and a read verifies it."""
    store = ObjectStore(stack.object_store)
    data = os.urandom(6 * 1024 * 1024 + 3)
    key = f"archive/test_objectstore/{sha256_hex(data)}.parquet"
    info = store.put_bytes(key, data, "application/vnd.apache.parquet")
    assert "-" not in info.etag  # a multipart upload's ETag ends in -<parts>
    stat = store.stat(key)
    assert stat is not None and (stat.size, stat.sha256) == (len(data), sha256_hex(data))
    assert store.get_bytes(key) == data
    store.delete(key)
