"""An S3 server error met under the embedded stack names a low disk of its data dir: SeaweedFS
answers 500 InternalError to every PUT on a nearly full disk, and says nothing of the disk. The
usage reader (``free_space.read_usage``, the one I/O edge) is replaced; no server runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from inferstream import free_space
from inferstream.free_space import MIB, DiskUsage, size
from inferstream.settings import STACK_FILE
from inferstream.storage.objectstore import ObjectStoreError, _translated
from inferstream.workers.runtime.backoff import is_transient

GIB = 1024 * MIB


def _server_error(status: int) -> S3Error:
    response = urllib3.HTTPResponse(status=status)
    return S3Error(response, "InternalError", "We encountered an internal error", "/b/k", "r", "h")


@pytest.mark.parametrize(
    ("status", "stack_file", "free", "noted"),
    [
        (500, True, 3 * GIB, True),  # low under a running embedded stack: said
        (500, True, 50 * GIB, False),  # plenty of space: the error as it was
        (500, False, 3 * GIB, False),  # no embedded stack here (a deployed worker's S3)
        (403, True, 3 * GIB, False),  # not a server error
    ],
)
def test_an_s3_server_error_names_a_low_disk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    stack_file: bool,
    free: int,
    noted: bool,
) -> None:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INFERSTREAM_STACK_MIN_FREE_MIB", raising=False)  # the defaults' marks
    monkeypatch.delenv("INFERSTREAM_STACK_MIN_FREE_PERCENT", raising=False)
    if stack_file:
        (tmp_path / STACK_FILE).write_text("")
    monkeypatch.setattr(free_space, "read_usage", lambda path: DiskUsage(100 * GIB, free))
    with pytest.raises(ObjectStoreError) as raised, _translated("archive/k.parquet"):
        raise _server_error(status)
    message = str(raised.value)
    assert message.startswith("S3 error on 'archive/k.parquet': InternalError:")
    note = f"(the disk is nearly full: {size(free)} free of 100.0 GiB"
    assert (note in message) is noted
    assert isinstance(raised.value.__cause__, S3Error)  # still judged by its status upstream


def test_errors_minio_cannot_read_as_s3s_are_object_store_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 5xx without S3's error body, and an answer that is not S3's XML (a proxy's page): the
    # archive backs off and the API answers 503 on ObjectStoreError only; the runtime still
    # judges them transient by their cause.
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    (tmp_path / STACK_FILE).write_text("")
    monkeypatch.setattr(free_space, "read_usage", lambda path: DiskUsage(100 * GIB, GIB))
    with pytest.raises(ObjectStoreError) as raised, _translated("archive/k.parquet"):
        raise ServerError("server failed with HTTP status code 503", 503)
    assert str(raised.value).startswith("S3 server error on 'archive/k.parquet': HTTP 503")
    assert "(the disk is nearly full: 1.0 GiB free" in str(raised.value)
    assert is_transient(raised.value)
    with pytest.raises(ObjectStoreError) as page, _translated("archive/k.parquet"):
        raise InvalidResponseError(502, "text/html", "<html>Bad Gateway</html>")
    assert "non-XML response from server; Response code: 502" in str(page.value)
    assert is_transient(page.value)
