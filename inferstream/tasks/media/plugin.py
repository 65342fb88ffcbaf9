"""The media task plug-in (DeepDetect): an image or video by claim-check -> real/fake verdict,
ImageNet top-k, per-frame scores for video, a thumbnail artifact."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from inferstream.plugins import InferContext, Inferer, Rejection, ResultFields
from inferstream.plugins.columns import MEDIA
from inferstream.schemas import Envelope
from inferstream.settings import ObjectStoreSettings, PostgresSettings
from inferstream.storage import ObjectStore
from inferstream.tasks.media.enrich import MediaEnrichment, enrich_batch

TABLE = MEDIA


class MediaPlugin:
    name = "media"
    enrichment_model: type[BaseModel] = MediaEnrichment
    table = TABLE

    @cached_property
    def store(self) -> ObjectStore:
        """The project's bucket: the only one a reference may point into."""
        return ObjectStore(ObjectStoreSettings.load())

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        return enrich_batch(self.store, envelopes)

    def load_inferer(self, context: InferContext) -> Inferer:
        from inferstream.tasks.media.inferer import MediaInferer  # the model: infer only

        return MediaInferer(context)

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        return []  # no in-memory state: reuse reads stored results per batch


def plugin() -> MediaPlugin:
    return MediaPlugin()
