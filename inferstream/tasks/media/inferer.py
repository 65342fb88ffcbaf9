"""media inference: fetch the blobs, decode them in a process pool, score every image or
sampled frame in model batches, aggregate per submission, write the artifacts.

- ``cost``: model-input pixels, in units of :data:`COST_UNIT_PIXELS` (a video costs its sampled
  frames), so a batch closes on pixels, not on submissions.
- ``prepare`` (overlapped with the previous batch's model run by the runtime): looks up stored
  results of the same bytes and model version (reused, no model work), fetches the other blobs
  and decodes them on the pool (Pillow / PyAV, one process per core by default).
- ``run``: the model over all rows, cut into ``model_batch`` chunks; a video's verdict is the
  mean of its frames' fake probabilities; thumbnail (and, for video, per-frame scores) under
  ``artifacts/media/<result_id>/``, deterministic keys, so a redelivery rewrites the same bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import psycopg

from inferstream.errors import PoisonBatchError
from inferstream.models.media import PIXELS_PER_IMAGE, MediaModel
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.plugins.columns import MEDIA
from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectNotFound, ObjectStore
from inferstream.tasks.media import metrics
from inferstream.tasks.media.decode import Decoded, decode
from inferstream.tasks.media.enrich import MediaEnrichment
from inferstream.tasks.media.pool import decode_pool
from inferstream.tasks.media.settings import MediaSettings

COST_UNIT_PIXELS = 1024  # one cost unit = 1,024 model-input pixels (an image: 49 units)
ARTIFACT_PREFIX = "artifacts/media/"
# The result fields a reused result copies from the stored one (the rest are its own).
REUSED_FIELDS = (
    "media_kind",
    "label",
    "confidence",
    "fake_probability",
    "top_k",
    "frames",
    "thumbnail_key",
    "frames_key",
)


def artifact_key(result_id: str, name: str) -> str:
    return f"{ARTIFACT_PREFIX}{result_id}/{name}"


def verdict(fake_probability: float, threshold: float) -> tuple[str, float]:
    """("fake" | "real", the probability of that label)."""
    if fake_probability >= threshold:
        return "fake", fake_probability
    return "real", 1.0 - fake_probability


@dataclass
class _Prepared:
    started: float
    stored: dict[str, ResultFields]  # sha256 -> a stored result of the same model version
    decoded: dict[str, Decoded | str] = field(default_factory=dict)  # sha256 -> rows or why not


class MediaInferer:
    def __init__(self, context: InferContext) -> None:
        self.settings = MediaSettings.load()
        self.model = MediaModel(context.models_dir)
        self.model_name = self.model.name
        self.model_version = self.model.version
        self.postgres = context.postgres
        self.store = ObjectStore(ObjectStoreSettings.load())
        processes = self.settings.decode_processes or os.cpu_count() or 1
        self.pool = decode_pool(processes)  # its processes end with this worker
        self.io = ThreadPoolExecutor(4, thread_name_prefix="media-io")

    def cost(self, item: EnrichedItem) -> int:
        e = _enrichment(item)
        frames = 1 if e.media_kind == "image" else min(self.settings.video_frames, e.frame_count)
        return max(1, frames * PIXELS_PER_IMAGE // COST_UNIT_PIXELS)

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        """Reused results, then the other blobs fetched and decoded. Postgres or S3 down
        raises as it comes: the runtime classifies it as transient and retries this prepare
        with backoff (workers/runtime/backoff.py). A blob gone since enrich is that record's
        own failure: its reason, then a dead letter for it alone (see _score)."""
        started = time.perf_counter()
        enrichments = {e.content_sha256: e for e in map(_enrichment, items)}
        stored = self._stored(list(enrichments)) if self.settings.reuse_results else {}
        todo = [e for sha, e in enrichments.items() if sha not in stored]
        blobs = list(self.io.map(self._fetch, todo))
        s = self.settings
        futures = {
            e.content_sha256: self.pool.submit(
                decode, e.media_kind, data, e.frame_count, s.video_frames, s.thumbnail_px
            )
            for e, data in zip(todo, blobs, strict=True)
            if isinstance(data, bytes)
        }
        decoded: dict[str, Decoded | str] = {
            e.content_sha256: data
            for e, data in zip(todo, blobs, strict=True)
            if isinstance(data, str)
        }
        decoded.update({sha: future.result() for sha, future in futures.items()})
        return _Prepared(started, stored, decoded)

    def _fetch(self, e: MediaEnrichment) -> bytes | str:
        """The blob's bytes, or why it is gone (a record's own fault, never transient)."""
        try:
            return self.store.get_bytes(e.blob_key)
        except ObjectNotFound:
            return f"no stored object at {e.blob_key} (removed after enrich)"

    def _stored(self, shas: list[str]) -> dict[str, ResultFields]:
        """One stored, not itself reused, result per sha256 scored by this model version."""
        columns = [
            c
            for c in MEDIA.stored()
            if c.name in (*REUSED_FIELDS, "submission_id", "content_sha256")
        ]
        query = (
            f"SELECT DISTINCT ON (content_sha256) {', '.join(c.name for c in columns)} "
            f"FROM {MEDIA.name} WHERE content_sha256 = ANY(%s) AND model_name = %s "
            "AND model_version = %s AND reused_from IS NULL ORDER BY content_sha256, seq"
        )
        with psycopg.connect(self.postgres.conninfo(), connect_timeout=5) as conn:
            rows = conn.execute(query, (shas, self.model_name, self.model_version)).fetchall()
        found = [MEDIA.fields_of(row, columns) for row in rows]
        return {str(f["content_sha256"]): f for f in found}

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        if not isinstance(prepared, _Prepared):
            raise TypeError("prepare() output expected")
        metrics.ACTIVE.set(len(items))
        scored = self._score(prepared.decoded)
        now = datetime.now(UTC)
        model = (self.model_name, self.model_version)
        # sha256 -> the result to reuse: stored ones, then the first fresh one of this batch.
        reusable: dict[str, ResultFields] = dict(prepared.stored)
        artifacts: list[tuple[str, bytes, str]] = []
        results: list[ResultFields] = []
        for item in items:
            e = _enrichment(item)
            envelope = item.envelope
            head = result_head("media", envelope.submission_id, envelope.schema_version, model, now)
            source = reusable.get(e.content_sha256)
            if source is not None:
                fields = {**head, **{k: source.get(k) for k in REUSED_FIELDS}}
                fields["reused_from"] = str(source["submission_id"])
                metrics.REUSED.inc()
            else:
                own = self._fresh(e, scored[e.content_sha256], head["result_id"], artifacts)
                fields = {**head, **own, "reused_from": None}
                reusable[e.content_sha256] = fields
            fields["content_sha256"] = e.content_sha256
            results.append(fields)
            outcome = "scored" if fields["reused_from"] is None else "reused"
            metrics.PREDICTIONS.labels(label=str(fields["label"])).inc()
            metrics.REQUESTS.labels(kind=e.media_kind, outcome=outcome).inc()
        self._write(artifacts)
        metrics.DURATION.observe(time.perf_counter() - prepared.started)
        metrics.ACTIVE.set(0)
        return results

    def _score(self, decoded: dict[str, Decoded | str]) -> dict[str, _Scored]:
        """Every row of every decoded item through the model, ``model_batch`` rows a call."""
        failed = [reason for reason in decoded.values() if isinstance(reason, str)]
        if failed:  # corrupt past enrich's check, or gone: bisected to the record to blame
            raise PoisonBatchError(failed[0])
        ready = {sha: d for sha, d in decoded.items() if not isinstance(d, str)}
        if not ready:
            return {}
        rows = np.concatenate([d.pixels for d in ready.values()])
        step = self.settings.model_batch
        try:
            parts = [self.model.run(rows[i : i + step]) for i in range(0, len(rows), step)]
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"media model failed: {err}") from err
        metrics.FRAMES.inc(len(rows))
        imagenet = np.concatenate([p.imagenet for p in parts])
        fake = np.concatenate([p.fake_probability for p in parts])
        out: dict[str, _Scored] = {}
        at = 0
        for sha, d in ready.items():
            n = len(d.pixels)
            out[sha] = _Scored(d, imagenet[at : at + n], fake[at : at + n])
            at += n
        return out

    def _fresh(
        self,
        e: MediaEnrichment,
        scored: _Scored,
        result_id: str,
        artifacts: list[tuple[str, bytes, str]],
    ) -> ResultFields:
        threshold = self.model.threshold
        p = float(np.clip(np.mean(scored.fake), 0.0, 1.0))
        label, confidence = verdict(p, threshold)
        top = self.model.top_k(np.mean(scored.imagenet, axis=0), self.settings.top_k)
        thumbnail_key = artifact_key(result_id, "thumbnail.jpg")
        artifacts.append((thumbnail_key, scored.decoded.thumbnail, "image/jpeg"))
        frames: list[dict[str, Any]] = []
        frames_key = None
        if e.media_kind == "video":
            for index, ts, fp in zip(
                scored.decoded.indices, scored.decoded.timestamps, scored.fake, strict=True
            ):
                frame_label, frame_conf = verdict(float(fp), threshold)
                frames.append(
                    {
                        "index": index,
                        "timestamp_s": max(0.0, ts),
                        "label": frame_label,
                        "confidence": float(np.clip(frame_conf, 0.0, 1.0)),
                    }
                )
            frames_key = artifact_key(result_id, "frames.json")
            detail = [
                {**f, "fake_probability": float(v)}
                for f, v in zip(frames, scored.fake, strict=True)
            ]
            artifacts.append((frames_key, orjson.dumps(detail), "application/json"))
        return {
            "media_kind": e.media_kind,
            "label": label,
            "confidence": float(np.clip(confidence, 0.0, 1.0)),
            "fake_probability": p,
            "top_k": [{"label": n, "confidence": float(np.clip(c, 0.0, 1.0))} for n, c in top],
            "frames": frames,
            "thumbnail_key": thumbnail_key,
            "frames_key": frames_key,
        }

    def _write(self, artifacts: list[tuple[str, bytes, str]]) -> None:
        # The object store down raises ObjectStoreUnavailable: transient for the runtime.
        list(self.io.map(lambda a: self.store.put_bytes(*a), artifacts))

    def observe(self, results: Sequence[ResultFields]) -> None:
        return None  # reuse reads Postgres, the durable copy

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.model.providers[0]}"


@dataclass(frozen=True)
class _Scored:
    decoded: Decoded
    imagenet: npt.NDArray[np.float32]  # [rows, 1000]
    fake: npt.NDArray[np.float32]  # [rows]


def _enrichment(item: EnrichedItem) -> MediaEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, MediaEnrichment):
        raise TypeError(f"expected MediaEnrichment, got {type(enrichment).__name__}")
    return enrichment
