"""bug_report inference: MiniLM-L6 embeddings on ONNX Runtime, kNN duplicates via faiss."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from inferstream.errors import PoisonBatchError
from inferstream.models import PreparedBatch, SimilarityIndex, TextEmbedder, ensure_minilm_bundle
from inferstream.schemas import BugReportResult, ResultBase, SimilarReport, make_result_id
from inferstream.tasks.bug_report.dedup import (
    DedupThresholds,
    classify,
    in_batch_scores,
    merge_candidates,
)
from inferstream.tasks.bug_report.enrich import BugReportEnrichment
from inferstream.tasks.bug_report.metrics import DUPLICATES
from inferstream.tasks.plugin import EnrichedItem, InferContext

# Characters per token of English bug reports, to estimate cost without tokenising twice.
CHARS_PER_TOKEN = 4


class BugReportInferer:
    def __init__(self, context: InferContext, thresholds: DedupThresholds | None = None) -> None:
        bundle = ensure_minilm_bundle(context.models_dir)
        self.embedder = TextEmbedder(
            bundle,
            max_batch_items=context.max_batch_items,
            max_batch_tokens=context.max_batch_tokens,
        )
        self.model_name = self.embedder.name
        self.model_version = self.embedder.version
        self.thresholds = thresholds or DedupThresholds()
        self.index = SimilarityIndex(self.embedder.dim)
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
        ids = [item.envelope.submission_id for item in items]
        now = datetime.now(UTC)
        results: list[ResultBase] = []
        k = self.thresholds.top_k + 1  # +1: a replayed submission may find itself
        found = self.index.search(vectors, k) if len(self.index) else [[] for _ in items]
        for i, item in enumerate(items):
            enrichment = _enrichment(item)
            similar = merge_candidates(
                ids[i], found[i], in_batch_scores(vectors, ids, i), self.thresholds.top_k
            )
            verdict = classify(similar, self.thresholds)
            if verdict.status != "unique":
                DUPLICATES.labels(status=verdict.status).inc()
            results.append(
                BugReportResult(
                    result_id=make_result_id(ids[i], self.model_name, self.model_version),
                    submission_id=ids[i],
                    schema_version=item.envelope.schema_version,
                    model_name=self.model_name,
                    model_version=self.model_version,
                    tokenizer_version=self.embedder.tokenizer_version,
                    produced_at=now,
                    quality_score=enrichment.quality_score,
                    quality_flags=enrichment.quality_flags,
                    low_quality=enrichment.low_quality,
                    duplicate_status=verdict.status,
                    duplicate_of=verdict.duplicate_of,
                    similar=[SimilarReport(submission_id=s, score=v) for s, v in verdict.similar],
                    content_sha256=enrichment.content_sha256,
                    embedding=[float(x) for x in vectors[i]],
                )
            )
        return results

    def observe(self, results: Sequence[ResultBase]) -> None:
        rows = [r for r in results if isinstance(r, BugReportResult) and r.embedding]
        if rows:
            vectors = np.asarray([r.embedding for r in rows], dtype=np.float32)
            self.index.add([r.submission_id for r in rows], vectors)

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.embedder.providers[0]}"


def _enrichment(item: EnrichedItem) -> BugReportEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, BugReportEnrichment):
        raise TypeError(f"expected BugReportEnrichment, got {type(enrichment).__name__}")
    return enrichment
