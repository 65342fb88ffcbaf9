"""bug_report inference: MiniLM-L6 embeddings on ONNX Runtime, duplicates by the profile's
hybrid score (faiss + lexical candidates, re-ranked: scoring.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import CancelledError
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.errors import PoisonBatchError, TransientError
from inferstream.models import PreparedBatch, TextEmbedder, ensure_minilm_bundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.schemas import (
    BugReportPayload,
    BugReportResult,
    encode_embeddings_b64,
    result_embedding,
)
from inferstream.schemas.tasks.bug_report import EXCERPT_CHARS
from inferstream.tasks.bug_report.dedup import (
    Decision,
    DedupProfile,
    DedupScorer,
    ReportFeatures,
    term_frequencies,
)
from inferstream.tasks.bug_report.enrich import BugReportEnrichment
from inferstream.tasks.bug_report.metrics import DUPLICATES
from inferstream.tasks.bug_report.settings import BugReportSettings

FloatArray = npt.NDArray[np.float32]
# Characters per token of English bug reports, to estimate cost without tokenising twice.
CHARS_PER_TOKEN = 4
# Features of produced results not yet observed; more means results that never became durable.
MAX_PENDING_FEATURES = 100_000
# The result's schema version infer writes (its embedding as base64 float32), whatever the
# submission's.
RESULT_VERSION = BugReportResult.SCHEMA_VERSION


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
        self.profile = profile or BugReportSettings.load().profile()
        self.scorer = DedupScorer(self.profile, self.embedder.dim)
        self.max_tokens = bundle.max_seq_length
        self.poison_marker = context.poison_marker
        self._features: dict[str, ReportFeatures] = {}

    def cost(self, item: EnrichedItem) -> int:
        text = _enrichment(item).canonical_text
        return min(self.max_tokens, 2 + len(text) // CHARS_PER_TOKEN)

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return self.embedder.prepare([_enrichment(item).canonical_text for item in items])

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        if not isinstance(prepared, PreparedBatch):
            raise TypeError("prepare() output expected")
        if self.poison_marker and any(
            self.poison_marker in _enrichment(item).canonical_text for item in items
        ):
            raise PoisonBatchError("injected fault: the model raised on a poison record")
        try:
            vectors = self.embedder.run(prepared)
        except CancelledError as err:  # close() cancelled its calls: the worker is stopping
            raise TransientError("model calls cancelled: the embedder is closed") from err
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"embedding failed: {err}") from err
        if not np.isfinite(vectors).all():
            # A NaN or an infinity (e.g. an fp16 overflow on a GPU) would be written as JSON
            # null and, once indexed, would sit in every later report's search: the runtime
            # bisects the batch and dead-letters the records whose embedding it is.
            raise PoisonBatchError("the model gave a non-finite embedding (NaN or infinity)")
        reports = [report_features(item, vectors[i]) for i, item in enumerate(items)]
        decisions = self.scorer.score(reports)
        # Kept for observe(): once these results are durable, the scorer takes the features
        # computed here instead of rebuilding them from the result fields.
        if len(self._features) > MAX_PENDING_FEATURES:
            self._features.clear()  # results never made durable (lost partitions): observe()
            # then rebuilds features from the fields, which gives the same vectors
        for report in reports:
            self._features[report.submission_id] = report
        now = datetime.now(UTC)
        model = (self.model_name, self.model_version)
        tokenizer_version = self.embedder.tokenizer_version
        profile_name, profile_version = self.profile.name, self.profile.version
        # Schema version 2's embedding text, the whole batch in one pass (schemas/embedding.py):
        # base64 of the same float32s the scorer got, not each float's decimal.
        embeddings_b64 = encode_embeddings_b64(vectors)
        results: list[ResultFields] = []
        for item, report, decision, embedding_b64 in zip(
            items, reports, decisions, embeddings_b64, strict=True
        ):
            enrichment: Any = item.enrichment  # a BugReportEnrichment: report_features checked
            verdict = decision.verdict
            similar = verdict.similar
            envelope = item.envelope
            cosines = decision.cosines(len(similar))
            # Plain fields, encoded by orjson in bulk (plugins/results.py).
            result = result_head("bug_report", envelope.submission_id, RESULT_VERSION, model, now)
            result["tokenizer_version"] = tokenizer_version
            result["quality_score"] = enrichment.quality_score
            result["quality_flags"] = enrichment.quality_flags
            result["low_quality"] = enrichment.low_quality
            result["duplicate_status"] = verdict.status
            result["duplicate_of"] = verdict.duplicate_of
            result["similar"] = [
                {"submission_id": s, "score": v, "cosine": c}
                for (s, v), c in zip(similar, cosines, strict=True)
            ]
            result["content_sha256"] = enrichment.content_sha256
            result["embedding_b64"] = embedding_b64
            result["product"] = report.product
            result["component"] = report.component
            # The map term_frequencies built for this report (read-only from here on: the
            # index reads it, nothing writes it), not a copy.
            result["dedup_terms"] = report.terms
            result["dedup_profile"] = profile_name
            result["dedup_profile_version"] = profile_version
            add_report_text(result, envelope.payload)
            results.append(result)
        _count_duplicates(decisions)
        return results

    def observe(self, results: Sequence[ResultFields]) -> None:
        reports = []
        for result in results:
            own = self._features.pop(str(result.get("submission_id")), None)
            report = own if own is not None else result_features(result)
            if report is not None:
                reports.append(report)
        if reports:
            self.scorer.add(reports)

    def ready(self) -> tuple[bool, str]:
        return True, f"{self.model_name} {self.model_version} on {self.embedder.providers[0]}"

    def close(self) -> None:
        """The worker stops: model calls queued for batches prepared ahead are cancelled."""
        self.embedder.close()


def _count_duplicates(decisions: Sequence[Decision]) -> None:
    """The batch's duplicate verdicts into the counter, one ``inc`` per status: a labelled
    child's look-up costs ~4.7 us, more than building the result."""
    counts = Counter(decision.verdict.status for decision in decisions)
    for status, count in counts.items():
        if status != "unique":
            DUPLICATES.labels(status=status).inc(count)


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


def add_report_text(result: ResultFields, payload: object) -> None:
    """The report's own text into the result (the triage view reads it from Postgres): the
    title whole, the long fields cut to EXCERPT_CHARS; nothing for another payload."""
    if not isinstance(payload, BugReportPayload):
        return
    cut = EXCERPT_CHARS
    result["title"] = payload.title
    result["description"] = payload.description[:cut]
    result["steps_to_reproduce"] = payload.steps_to_reproduce[:cut]
    result["logs"] = payload.logs[:cut]


def result_features(result: ResultFields) -> ReportFeatures | None:
    """A stored or followed result as the scorer knows it (older rows: no terms, no product;
    a result without an embedding is not indexed). Either version's embedding. A version 1
    float list holding a JSON null (orjson's NaN or infinity, written before infer refused
    them) is not indexed either: the index refuses it, and the sink dead-letters it."""
    vector = result_embedding(result)
    if vector is None or vector.size == 0 or not np.isfinite(vector).all():
        return None
    return ReportFeatures(
        submission_id=str(result["submission_id"]),
        vector=vector,
        terms=result.get("dedup_terms") or {},
        product=result.get("product") or "",
        component=result.get("component") or "",
    )


def _enrichment(item: EnrichedItem) -> BugReportEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, BugReportEnrichment):
        raise TypeError(f"expected BugReportEnrichment, got {type(enrichment).__name__}")
    return enrichment
