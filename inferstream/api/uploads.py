"""Presigned uploads bound to their size and checksum (claim-check for large media).

A presigned PUT binds only an object key: whoever holds the URL may PUT any bytes, of any size
(up to 5 GiB), as often as they like until it expires. Handing out URLs for ``blobs/<sha256>``
itself would let one client overwrite another's blob. So a ticket's URL points at a private
staging key, ``uploads/<sha256>/<random token>``, and the blob exists only after
``POST /v1/uploads/{token}/complete``: the API checks the staged object's size (from its
metadata, before reading anything), reads it, checks its sha256, and only then writes
``blobs/<sha256>`` (content-addressed: bytes that hash to the name, so nobody can replace a blob
with other bytes). The staging object is deleted either way. Completions read at most
``MAX_BLOB_BYTES`` each, and at most ``MAX_CONCURRENT_COMPLETIONS`` run at once.

DeepDetect's rules answer first, in its words (api/media_checks.py, the enrich stage's own
functions): "Empty file" or "File too large" for the declared size, and, when the client names
the file, "Invalid filename", "File type not allowed" and "Invalid file type" (declared type at
the ticket, the type sniffed from the bytes at the completion, before any blob is written).
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inferstream.api.context import Context, Producer
from inferstream.api.ingest import ingest_of
from inferstream.api.media_checks import check_declared, check_uploaded
from inferstream.api.problems import PROBLEM_RESPONSES, ProblemError
from inferstream.schemas import MAX_MEDIA_BYTES, BlobRef, format_validation_error
from inferstream.storage import BLOB_PREFIX, ChecksumMismatch, ObjectStore, ObjectStoreError

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)
UPLOAD_EXPIRY_S = 900
STAGING_PREFIX = "uploads/"
MAX_UPLOAD_BYTES = MAX_MEDIA_BYTES
MAX_CONCURRENT_COMPLETIONS = 2  # each holds up to 50 MB in memory while it verifies
_completions = threading.BoundedSemaphore(MAX_CONCURRENT_COMPLETIONS)
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{32}$")]


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    # Bounds checked by the seed's rules ("Empty file", "File too large"), not by the schema.
    size: Annotated[int, Field(ge=0, le=2**53)]
    content_type: Annotated[str, Field(pattern=r"^(image|video)/[a-z0-9.+-]{1,64}$")]
    filename: Annotated[str | None, Field(min_length=1, max_length=255)] = None


class UploadTicket(BaseModel):
    upload_url: str
    method: str = "PUT"
    expires_in_s: int
    complete_url: str  # POST here (with the same sha256, size, content_type) after the PUT
    blob: BlobRef  # valid once the completion has answered 200


def _store(ctx: Context) -> ObjectStore:
    store = ingest_of(ctx).objects
    if store is None:
        raise ProblemError(503, "uploads are not configured", slug="ingest-off")
    return store


def _blob(store: ObjectStore, body: UploadRequest) -> BlobRef:
    try:
        return BlobRef(
            uri=store.uri(BLOB_PREFIX + body.sha256),
            sha256=body.sha256,
            size=body.size,
            content_type=body.content_type,
        )
    except ValidationError as err:
        detail = "; ".join(f"{where}: {msg}" for where, msg in format_validation_error(err))
        raise ProblemError(422, detail[:2000], slug="invalid") from None


def _unavailable(err: ObjectStoreError) -> ProblemError:
    return ProblemError(503, f"object store unavailable: {err}", slug="unavailable")


@router.post("/uploads", tags=["submissions"])
def upload_ticket(body: UploadRequest, ctx: Context, _: Producer) -> UploadTicket:
    """A presigned PUT URL for a private staging object; after the PUT, POST the same body to
    complete_url, which verifies size and sha256 and only then creates blobs/<sha256>."""
    check_declared(body.size, body.content_type, body.filename)
    store = _store(ctx)
    token = secrets.token_urlsafe(24)  # 32 characters, 192 bits: the staging key is private
    try:
        url = store.presign_put(f"{STAGING_PREFIX}{body.sha256}/{token}", UPLOAD_EXPIRY_S)
    except ObjectStoreError as err:
        raise _unavailable(err) from None
    return UploadTicket(
        upload_url=url,
        expires_in_s=UPLOAD_EXPIRY_S,
        complete_url=f"/v1/uploads/{token}/complete",
        blob=_blob(store, body),
    )


@router.post("/uploads/{token}/complete", tags=["submissions"])
def complete_upload(token: Token, body: UploadRequest, ctx: Context, _: Producer) -> BlobRef:
    """Verify the staged bytes against the declared size and sha256, then store them as
    blobs/<sha256> (422 when they differ; the staged object is deleted in every case)."""
    store = _store(ctx)
    staging = f"{STAGING_PREFIX}{body.sha256}/{token}"
    if not _completions.acquire(timeout=5.0):
        raise ProblemError(503, "too many uploads completing; retry shortly", slug="busy")
    try:
        blob = _verify_and_store(store, staging, body)
    except ObjectStoreError as err:
        raise _unavailable(err) from None
    finally:
        _completions.release()
    return blob


def _verify_and_store(store: ObjectStore, staging: str, body: UploadRequest) -> BlobRef:
    staged = store.stat(staging)
    if staged is None:
        raise ProblemError(404, "nothing was uploaded with this ticket", slug="not-found")
    try:
        check_declared(body.size, body.content_type, body.filename)
        if staged.size != body.size:  # checked from metadata: a 5 GiB PUT is never read
            raise ProblemError(
                422, f"uploaded {staged.size} bytes, declared {body.size}", slug="invalid"
            )
        try:
            data = store.get_bytes(staging, expected_sha256=body.sha256)
        except ChecksumMismatch:
            detail = "the uploaded bytes do not match sha256"
            raise ProblemError(422, detail, slug="invalid") from None
        check_uploaded(body.filename, data)
        final = BLOB_PREFIX + body.sha256
        existing = store.stat(final)
        if existing is None or existing.size != body.size:
            store.put_bytes(final, data, body.content_type)
    finally:
        store.delete(staging)
    return _blob(store, body)
