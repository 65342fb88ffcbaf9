"""bug_report inference: MiniLM-L6 embeddings on ONNX Runtime, duplicates by the profile's
hybrid score (faiss + lexical candidates, re-ranked: scoring.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from inferstream.errors import PoisonBatchError
from inferstream.models import PreparedBatch, TextEmbedder, ensure_minilm_bundle
from inferstream.schemas import (
    BugReportPayload,
    BugReportResult,
    ResultBase,
)
from inferstream.schemas.fast import construct
from inferstream.tasks.bug_report.dedup import (
    DedupProfile,
    DedupScorer,
    ReportFeatures,
    get_profile,
    term_frequencies,
)
from inferstream.tasks.bug_report.enrich import BugReportEnrichment
from inferstream.tasks.bug_report.metrics import DUPLICATES
from inferstream.tasks.bug_report.settings import BugReportSettings
from inferstream.tasks.plugin import EnrichedItem, InferContext, result_head

FloatArray = npt.NDArray[np.float32]
# Characters per token of English bug reports, to estimate cost without tokenising twice.
CHARS_PER_TOKEN = 4


class BugReportInferer:
    def __init__(self, context: InferContext, profile: DedupProfile | None = None) -> None:
        bundle = ensure_minilm_bundle(context.models_dir)
        self.embedder = TextEmbedder(
            bundle,
            max_batch_items=context.max_batch_items,
            max_batch_tokens=context.max_batch_tokens,
        )
        self.model_name = self.embedder.name
        self.model_version = self.embedder.version
        self.profile = profile or get_profile(BugReportSettings.load().dedup_profile)
        self.scorer = DedupScorer(self.profile, self.embedder.dim)
        self.max_tokens = bundle.max_seq_length
        self.poison_marker = context.poison_marker

    def cost(self, item: EnrichedItem) -> int:
        text = _enrichment(item).canonical_text
        return min(self.max_tokens, 2 + len(text) // CHARS_PER_TOKEN)

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return self.embedder.prepare([_enrichment(item).canonical_text for item in items])

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultBase]:
        if not isinstance(prepared, PreparedBatch):
            raise TypeError("prepare() output expected")
        if self.poison_marker and any(
            self.poison_marker in _enrichment(item).canonical_text for item in items
        ):
            raise PoisonBatchError("injected fault: the model raised on a poison record")
        try:
            vectors = self.embedder.run(prepared)
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"embedding failed: {err}") from err
        reports = [report_features(item, vectors[i]) for i, item in enumerate(items)]
        decisions = self.scorer.score(reports)
        now = datetime.now(UTC)
        results: list[ResultBase] = []
        for item, report, decision in zip(items, reports, decisions, strict=True):
            enrichment = _enrichment(item)
            verdict = decision.verdict
            if verdict.status != "unique":
                DUPLICATES.labels(status=verdict.status).inc()
            # Built without validation (schemas/fast.py): the values come from the model and
            # the scorer; validating the 384-float embedding per result cost most of the build.
            fields = {
                **result_head(item, self.model_name, self.model_version, now),
                "tokenizer_version": self.embedder.tokenizer_version,
                "quality_score": enrichment.quality_score,
                "quality_flags": enrichment.quality_flags,
                "low_quality": enrichment.low_quality,
                "duplicate_status": verdict.status,
                "duplicate_of": verdict.duplicate_of,
                "similar": [
                    {"submission_id": s, "score": v, "cosine": c.cosine}
                    for (s, v), c in zip(verdict.similar, decision.candidates, strict=False)
                ],
                "content_sha256": enrichment.content_sha256,
                "embedding": float32_list(report.vector),
                "product": report.product,
                "component": report.component,
                "dedup_terms": dict(report.terms),
                "dedup_profile": self.profile.name,
                "dedup_profile_version": self.profile.version,
            }
            results.append(construct(BugReportResult, fields))
        return results

    def observe(self, results: Sequence[ResultBase]) -> None:
        reports = [r for r in map(result_features, results) if r is not None]
        if reports:
            self.scorer.add(reports)

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.embedder.providers[0]}"


def float32_list(vector: FloatArray) -> list[float]:
    """The vector as Python floats that print as the shortest decimal of each float32 (at most
    9 significant digits) rather than the 17 of the float64 holding it: each value still reads
    back as the same float32 (pgvector, faiss), and a result message shrinks from ~8.7 to ~5.3 KB
    (less for the broker, the sink and the index follower to move and parse)."""
    flat = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
    values: list[float] = orjson.loads(orjson.dumps(flat, option=orjson.OPT_SERIALIZE_NUMPY))
    return values


def report_features(item: EnrichedItem, vector: FloatArray) -> ReportFeatures:
    """The scorer's view of a report being inferred (the eval builds the same from a payload)."""
    enrichment = _enrichment(item)
    payload = item.envelope.payload
    if isinstance(payload, BugReportPayload):
        terms = term_frequencies(payload.title, payload.description, payload.steps_to_reproduce)
    else:
        terms = term_frequencies("", enrichment.canonical_text, "")
    return ReportFeatures(
        submission_id=item.envelope.submission_id,
        vector=vector,
        terms=terms,
        product=enrichment.product,
        component=enrichment.component,
    )


def result_features(result: ResultBase) -> ReportFeatures | None:
    """A stored or followed result as the scorer knows it (older rows: no terms, no product)."""
    if not isinstance(result, BugReportResult) or not result.embedding:
        return None
    return ReportFeatures(
        submission_id=result.submission_id,
        vector=np.asarray(result.embedding, dtype=np.float32),
        terms=result.dedup_terms or {},
        product=result.product or "",
        component=result.component or "",
    )


def _enrichment(item: EnrichedItem) -> BugReportEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, BugReportEnrichment):
        raise TypeError(f"expected BugReportEnrichment, got {type(enrichment).__name__}")
    return enrichment
