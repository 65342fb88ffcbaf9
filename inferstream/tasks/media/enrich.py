"""media enrichment: the DeepDetect rules on the reference, then on the stored bytes.

In order: the reference (size, file name, extension, declared type: inferstream/media_rules.py,
the rules the API also pre-checks), where it points (only
``s3://<the project's bucket>/blobs/<sha256>``, content-addressed: no ``file://``, no other
bucket or key), the stored object (its sha256 and size must be the reference's), the MIME type
sniffed from its bytes, and a decode check (an image's whole compressed stream at a fraction of
a decode's cost; a video's headers, first frame and last group of pictures: decode.probe), so a
corrupt or truncated file is a rejection with the decoder's reason, never a crash; infer does
the one full decode of an image and decodes the rest of a video, once. An
object store that cannot be reached is transient: the batch is retried, nothing is committed
past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from inferstream import media_rules as rules
from inferstream.errors import TransientError
from inferstream.plugins import Rejection
from inferstream.schemas import Envelope, MediaPayload
from inferstream.storage import (
    BLOB_PREFIX,
    ChecksumMismatch,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
)
from inferstream.tasks.media.decode import CorruptMediaError, probe

# Objects read and decoded at once per enrich process (each up to 50 MB in memory).
CONCURRENT_ITEMS = 4


class MediaEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_kind: Literal["image", "video"]
    blob_key: Annotated[str, Field(min_length=1, max_length=1024)]
    content_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1)]
    sniffed_types: list[str]
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    frame_count: Annotated[int, Field(ge=1)]
    duration_s: Annotated[float, Field(ge=0)]


def blob_key(store_bucket: str, uri: str, sha256: str) -> str | None:
    """The key of a reference into this project's bucket at ``blobs/<sha256>``, else None."""
    key = BLOB_PREFIX + sha256
    return key if uri == f"s3://{store_bucket}/{key}" else None


def check_payload(payload: MediaPayload, bucket: str) -> Rejection | str:
    """The rules a reference is checked by before anything is read: its blob key, or why not."""
    problem = rules.check_reference(payload.filename, payload.blob.size, payload.content_type)
    if problem is not None:
        return Rejection(problem)
    key = blob_key(bucket, payload.blob.uri, payload.blob.sha256)
    if key is None:
        return Rejection(
            f"blob reference {payload.blob.uri[:200]!r} is not s3://{bucket}/{BLOB_PREFIX}<sha256>"
        )
    return key


def enrich_one(store: ObjectStore, envelope: Envelope[Any]) -> MediaEnrichment | Rejection:
    payload = envelope.payload
    if not isinstance(payload, MediaPayload):
        return Rejection(f"payload is {type(payload).__name__}, expected MediaPayload")
    key = check_payload(payload, store.bucket)
    if isinstance(key, Rejection):
        return key
    try:
        data = store.get_bytes(key, expected_sha256=payload.blob.sha256)
    except ChecksumMismatch:
        return Rejection("the stored object's sha256 does not match the reference")
    except ObjectNotFound:
        return Rejection(f"no stored object at {payload.blob.uri}")
    except ObjectStoreError as err:
        raise TransientError(f"object store: {err}") from err
    if len(data) != payload.blob.size:
        return Rejection(
            f"stored object is {len(data)} bytes, the reference says {payload.blob.size}"
        )
    problem = rules.check_bytes(payload.filename, data)
    if problem is not None:
        return Rejection(problem)
    try:
        found = probe(payload.media_kind, data)
    except CorruptMediaError as err:
        return Rejection(str(err)[:500])
    return MediaEnrichment(
        media_kind=payload.media_kind,
        blob_key=key,
        content_sha256=payload.blob.sha256,
        size=len(data),
        sniffed_types=sorted(rules.sniffed_types(data)),
        width=found.width,
        height=found.height,
        frame_count=found.frame_count,
        duration_s=found.duration_s,
    )


def enrich_batch(
    store: ObjectStore, envelopes: Sequence[Envelope[Any]]
) -> list[BaseModel | Rejection]:
    with ThreadPoolExecutor(CONCURRENT_ITEMS, thread_name_prefix="media-enrich") as pool:
        return list(pool.map(lambda e: enrich_one(store, e), envelopes))
