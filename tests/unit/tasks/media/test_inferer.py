"""The media inferer's prepare step leaves outages to the runtime's one policy: Postgres or
S3 down raises as it comes, and the runtime classifies it as transient (retried, nothing
dead-lettered); a blob gone since enrich is that record's own failure (a poison batch the
runtime bisects down to it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from inferstream.errors import PoisonBatchError
from inferstream.plugins import EnrichedItem
from inferstream.storage import ObjectNotFound, ObjectStoreUnavailable
from inferstream.tasks.media.enrich import MediaEnrichment
from inferstream.tasks.media.inferer import MediaInferer
from inferstream.tasks.media.settings import MediaSettings
from inferstream.workers.runtime.backoff import is_transient

SHA = "ab" * 32


class _Store:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_bytes(self, key: str) -> bytes:
        raise self.error


def _inferer(reuse: bool, store_error: Exception) -> MediaInferer:
    inferer = object.__new__(MediaInferer)  # no model or decode pool: prepare's I/O only
    inferer.settings = MediaSettings(reuse_results=reuse)
    inferer.io = ThreadPoolExecutor(1)
    inferer.store = _Store(store_error)  # type: ignore[assignment]
    return inferer


def _item() -> EnrichedItem:
    enrichment = MediaEnrichment(
        media_kind="image",
        blob_key=f"blobs/{SHA}",
        content_sha256=SHA,
        size=10,
        sniffed_types=["image/png"],
        width=4,
        height=4,
        frame_count=1,
        duration_s=0.0,
    )
    envelope: Any = None  # prepare reads the enrichment only
    return EnrichedItem(envelope, enrichment)


def test_postgres_down_while_preparing_raises_a_transient_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inferer = _inferer(reuse=True, store_error=ObjectStoreUnavailable("unused"))

    def down(shas: list[str]) -> dict[str, Any]:
        raise psycopg.OperationalError("connection failed: Connection refused")

    monkeypatch.setattr(inferer, "_stored", down)
    with pytest.raises(psycopg.OperationalError) as caught:
        inferer.prepare([_item()])
    assert is_transient(caught.value)


def test_the_object_store_down_while_preparing_raises_a_transient_error() -> None:
    inferer = _inferer(reuse=False, store_error=ObjectStoreUnavailable("connection refused"))
    with pytest.raises(ObjectStoreUnavailable) as caught:
        inferer.prepare([_item()])
    assert is_transient(caught.value)


def test_a_blob_gone_since_enrich_fails_its_record_only() -> None:
    inferer = _inferer(reuse=False, store_error=ObjectNotFound(f"no object 'blobs/{SHA}'"))
    prepared = inferer.prepare([_item()])
    with pytest.raises(PoisonBatchError, match="no stored object") as caught:
        inferer.run([_item()], prepared)
    assert not is_transient(caught.value)
