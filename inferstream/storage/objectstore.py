"""Object storage on the `minio` client (MinIO, S3, SeaweedFS): put/get/stat/presign.

Uploads by content go to ``blobs/<sha256>`` (content-addressed, so re-uploads are harmless);
every object carries its sha256 in metadata and reads verify it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import urllib3
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.credentials.providers import ChainedProvider, EnvAWSProvider, IamAwsProvider
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import MAX_PART_SIZE, MIN_PART_SIZE

from inferstream.free_space import note_if_low
from inferstream.settings import ObjectStoreSettings

SHA256_META = "sha256"
BLOB_PREFIX = "blobs/"


class ObjectStoreError(RuntimeError):
    """Base of object-store failures."""


class ObjectNotFound(ObjectStoreError):
    """No object under that key."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The server could not be reached or answered with a server error (transient)."""


class ChecksumMismatch(ObjectStoreError):
    """The bytes read do not match the sha256 recorded or expected (never trust them)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None
    content_type: str
    etag: str

    @property
    def uri(self) -> str:
        return self.key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def single_put_part_size(size: int) -> int:
    """The part size that makes minio send `size` bytes as one PUT. By default it splits
    anything past 5 MiB into 5 MiB parts (a 24 MB archive file: create, five parts on three
    threads, complete, each part copied out and hashed for its signature); S3 takes one PUT up
    to 5 GiB, and minio sends one when the part is the object. 0 (minio's choice) below its
    minimum part size, where it sends one PUT anyway, and past S3's limit. The body is still
    hashed twice, ours for the metadata and minio's for the request (sha256 to sign it over
    http, MD5 over https): minio takes no digest from its caller."""
    return size if MIN_PART_SIZE <= size <= MAX_PART_SIZE else 0


class _AwsChain(ChainedProvider):
    """The AWS credential chain, failing with this module's error instead of a ValueError."""

    def retrieve(self) -> Credentials:
        try:
            return super().retrieve()
        except ValueError as exc:
            raise ObjectStoreError(
                "no object-store credentials: set INFERSTREAM_OBJECT_STORE_ACCESS_KEY and "
                "INFERSTREAM_OBJECT_STORE_SECRET_KEY, or give the process AWS credentials "
                f"(AWS_* variables, a web identity / IAM role): {exc}"
            ) from exc


class ObjectStore:
    """A bucket on an S3-compatible server."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        self.bucket = settings.bucket
        self._settings = settings
        # Short timeouts and few retries: callers treat failures as transient and back off.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
            maxsize=16,
        )
        access_key, secret_key = _secret(settings.access_key), _secret(settings.secret_key)
        # Without static keys: the AWS chain (AWS_ACCESS_KEY_ID/..., then web identity = EKS
        # IAM roles for service accounts, then instance/task metadata), never anonymous.
        chain = None
        if access_key is None and secret_key is None:
            chain = _AwsChain([EnvAWSProvider(), IamAwsProvider()])
        self._client = Minio(
            settings.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=settings.secure,
            region=settings.region,
            http_client=http,
            credentials=chain,
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def ensure_bucket(self) -> None:
        with _translated(""):
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket)

    def ping(self) -> bool:
        """True when the bucket is reachable with these credentials."""
        try:
            with _translated(""):
                found = bool(self._client.bucket_exists(self.bucket))
        except ObjectStoreError:
            return False
        return found

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        return self._put(key, data, content_type, sha256_hex(data))

    def _put(self, key: str, data: bytes, content_type: str, digest: str) -> ObjectInfo:
        """One PUT of ``data`` with ``digest`` (its sha256) as its metadata."""
        with _translated(key):
            result = self._client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata={SHA256_META: digest},
                part_size=single_put_part_size(len(data)),
            )
        return ObjectInfo(key, len(data), digest, content_type, str(result.etag))

    def put_blob(self, data: bytes, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Content-addressed upload to blobs/<sha256>; an identical existing blob is reused."""
        digest = sha256_hex(data)  # once: the key and the metadata (media: megabytes)
        key = BLOB_PREFIX + digest
        existing = self.stat(key)
        if existing is not None and existing.size == len(data):
            return existing
        return self._put(key, data, content_type, digest)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            with _translated(key):
                obj = self._client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return None
        return ObjectInfo(
            key=key,
            size=int(obj.size or 0),
            sha256=_meta_sha(obj.metadata),
            content_type=str(obj.content_type or "application/octet-stream"),
            etag=str(obj.etag),
        )

    def get_bytes(self, key: str, *, expected_sha256: str | None = None) -> bytes:
        """Read an object and verify it against expected_sha256 or its recorded sha256."""
        with _translated(key):
            response = self._client.get_object(self.bucket, key)
            try:
                data = bytes(response.read())
                recorded = _meta_sha(response.headers)
            finally:
                response.close()
                response.release_conn()
        want = expected_sha256 or recorded
        if want is not None and sha256_hex(data) != want:
            raise ChecksumMismatch(f"{self.uri(key)}: sha256 {sha256_hex(data)} != {want}")
        return data

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under prefix (recursive)."""
        with _translated(prefix):
            return [
                str(obj.object_name)
                for obj in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            ]

    def delete(self, key: str) -> None:
        with _translated(key):
            self._client.remove_object(self.bucket, key)

    def presign_get(self, key: str, expiry_s: int | None = None) -> str:
        return str(
            self._client.presigned_get_object(self.bucket, key, expires=self._expiry(expiry_s))
        )

    def presign_put(self, key: str, expiry_s: int | None = None) -> str:
        """A URL a client can PUT the object's bytes to directly (claim-check uploads)."""
        return str(
            self._client.presigned_put_object(self.bucket, key, expires=self._expiry(expiry_s))
        )

    def _expiry(self, expiry_s: int | None) -> timedelta:
        return timedelta(seconds=expiry_s or self._settings.presign_expiry_s)


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _meta_sha(headers: Any) -> str | None:
    if headers is None:
        return None
    for name, value in headers.items():
        if str(name).lower() == f"x-amz-meta-{SHA256_META}":
            return str(value)
    return None


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """Map minio/urllib3 exceptions to this module's error kinds."""
    try:
        yield
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            raise ObjectNotFound(f"no object {key!r}") from exc
        message = f"S3 error on {key!r}: {exc.code}: {exc.message}"
        raise ObjectStoreError(
            message + _server_error_note(getattr(exc.response, "status", None))
        ) from exc
    except ServerError as exc:  # an HTTP error without S3's error body (a HEAD, an empty one)
        message = f"S3 server error on {key!r}: HTTP {exc.status_code}"
        raise ObjectStoreError(message + _server_error_note(exc.status_code)) from exc
    except InvalidResponseError as exc:  # not S3's XML: a proxy's error page, say
        raise ObjectStoreError(f"S3 error on {key!r}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ObjectStoreUnavailable(f"object store unreachable: {exc}") from exc


def _server_error_note(status: object) -> str:
    """On a server error (5xx) from the embedded stack's SeaweedFS, the free space of its data
    dir when that is low: a nearly full disk makes SeaweedFS answer 500 (InternalError) to
    every write, and nothing else names the disk. A statfs, on this error path only."""
    return note_if_low() if isinstance(status, int) and status >= 500 else ""
