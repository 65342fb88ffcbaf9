"""The enrich stage: validate envelope and payload, apply the task's rules, forward or reject.

Each record is validated once, here, against the wire contract; the later stages trust what
enrich wrote (schemas/fast.py). The plug-in gets the batch's valid envelopes in one call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from inferstream.plugins import Batch, Rejection, TaskPlugin, enriched_key
from inferstream.schemas import (
    CONTENT_TYPE,
    DecodeError,
    Envelope,
    decode_envelope,
    format_validation_error,
    get_task,
)
from inferstream.schemas.fast import encode_fast
from inferstream.topology import topic_name
from inferstream.workers.runtime.headers import CONTENT_TYPE_BYTES, forward_headers
from inferstream.workers.runtime.logic import StageLogic
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage, Reject


def encode_enriched(envelope: BaseModel, enrichment: BaseModel) -> bytes:
    """The value on enriched.<task> (an ``EnrichedMessage``) from the validated models, in one
    orjson pass over their fields (was two ``model_dump``s and a model per record)."""
    # The keys of EnrichedMessage (infer checks them).
    return encode_fast(
        {"envelope": envelope, "enrichment": enrichment, "enriched_at": datetime.now(UTC)}
    )


def describe_invalid(err: ValidationError) -> str:
    return "; ".join(f"{where}: {message}" for where, message in format_validation_error(err))


class EnrichLogic(StageLogic):
    stage = "enrich"
    coalesce_outputs = True  # batches are independent: under backlog they share one flush

    def __init__(self, plugin: TaskPlugin) -> None:
        self.plugin = plugin
        self.task = plugin.name
        self.contract = get_task(plugin.name)
        self.output_topic = topic_name("enriched", self.task)

    @property
    def input_topics(self) -> Sequence[str]:
        return [topic_name("submissions", self.task)]

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        checked = [self.validate(record) for record in batch]
        valid = [(r, e) for r, e in zip(batch, checked, strict=True) if not isinstance(e, Reject)]
        envelopes = Batch(
            tuple(e for _, e in valid),
            tuple(r.key for r, _ in valid),
            tuple(r.headers for r, _ in valid),
        )
        enriched = iter(self.plugin.enrich(envelopes) if envelopes else [])
        outcomes: list[Outcome] = []
        for record, envelope in zip(batch, checked, strict=True):
            if isinstance(envelope, Reject):
                outcomes.append(envelope)
            else:
                outcomes.append(self._forward(record, envelope, next(enriched)))
        return outcomes

    def validate(self, record: InRecord) -> Envelope[Any] | Reject:
        """The record's envelope, validated against the contract, or why it is rejected."""
        key = record.key.decode(errors="replace") if record.key else None
        raw_type = record.header_bytes("content-type")
        if raw_type is not None and raw_type != CONTENT_TYPE_BYTES:  # the exact type is accepted
            content_type = raw_type.decode(errors="replace")
            if content_type.split(";")[0].strip() != CONTENT_TYPE:
                return Reject(f"unsupported content-type {content_type!r}", submission_id=key)
        try:
            envelope = decode_envelope(self.task, record.value)
        except DecodeError as err:
            return Reject(str(err), submission_id=key)  # "malformed JSON: ..."
        except ValidationError as err:
            return Reject(f"schema violation: {describe_invalid(err)}", submission_id=key)
        if key is not None and key != envelope.submission_id:
            return Reject(
                f"message key {key!r} is not the submission_id {envelope.submission_id!r}",
                submission_id=envelope.submission_id,
            )
        return envelope

    def _forward(
        self, record: InRecord, envelope: Envelope[Any], enrichment: BaseModel | Rejection
    ) -> Outcome:
        if isinstance(enrichment, Rejection):
            return Reject(enrichment.reason, submission_id=envelope.submission_id)
        out = OutMessage(
            self.output_topic,
            enriched_key(self.plugin, envelope, enrichment),
            encode_enriched(envelope, enrichment),
            forward_headers(
                record, envelope.schema_version, envelope.produced_at, envelope.submission_id
            ),
        )
        return Emit((out,))

    def enrich_one(self, record: InRecord) -> Outcome:
        """One record through ``process`` (tests and tools)."""
        return self.process([record], None)[0]
