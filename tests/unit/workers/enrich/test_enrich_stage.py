"""The enrich stage around a task's rules: what it rejects before the plug-in sees a record
(content type, malformed JSON, schema violations, a key that is not the submission id), what a
plug-in rejection becomes, and what an accepted record is forwarded as."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from inferstream.plugins import Batch, load_plugin
from inferstream.schemas import build_envelope
from inferstream.schemas.samples import sample_payload
from inferstream.topology import topic_name
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, Reject

SUBMISSIONS = topic_name("submissions", "churn")
SUB_ID = "5f0c1d2e-0000-4000-8000-000000000002"


def _value(**payload: Any) -> bytes:
    envelope = build_envelope("churn", {**sample_payload("churn"), **payload}, submission_id=SUB_ID)
    return envelope.model_dump_json().encode()


def _record(
    value: bytes, key: bytes | None = SUB_ID.encode(), content_type: str | None = None
) -> InRecord:
    headers = (("content-type", content_type.encode()),) if content_type else ()
    return InRecord(SUBMISSIONS, 0, 3, key, value, headers)


def _run(*records: InRecord) -> list[Outcome]:
    return EnrichLogic(load_plugin("churn")).process(list(records), None)


def test_a_valid_submission_is_forwarded_to_enriched() -> None:
    (outcome,) = _run(_record(_value(), content_type="application/json; charset=utf-8"))
    assert isinstance(outcome, Emit)
    (message,) = outcome.messages
    assert message.topic == topic_name("enriched", "churn")
    enriched = orjson.loads(message.value)
    assert set(enriched) == {"envelope", "enrichment", "enriched_at"}
    assert enriched["envelope"]["submission_id"] == SUB_ID


def test_what_is_rejected_before_the_plugin_and_why() -> None:
    wrong_type = _record(_value(), content_type="text/plain")
    malformed = _record(b"{not json")
    invalid = _record(_value()[:-1] + b', "surprise": 1}')
    other_key = _record(_value(), key=b"someone-else")
    outcomes = _run(wrong_type, malformed, invalid, other_key)
    assert all(isinstance(o, Reject) for o in outcomes)
    reasons = [o.reason for o in outcomes if isinstance(o, Reject)]
    assert reasons[0] == "unsupported content-type 'text/plain'"
    assert reasons[1].startswith("malformed JSON")
    assert reasons[2].startswith("schema violation: ")
    assert reasons[3] == f"message key 'someone-else' is not the submission_id {SUB_ID!r}"
    assert [o.submission_id for o in outcomes if isinstance(o, Reject)][3] == SUB_ID


def test_a_plugin_rejection_is_a_dead_letter_of_that_record_only() -> None:
    bad = _record(_value(tenure_months=0, monthly_charges=10.0, total_charges=500.0))
    outcomes = _run(_record(_value()), bad)
    assert isinstance(outcomes[0], Emit)
    assert isinstance(outcomes[1], Reject) and "tenure_months 0" in outcomes[1].reason
    assert outcomes[1].submission_id == SUB_ID


class _Recording:
    """The churn plug-in, keeping what the stage hands its enrich()."""

    def __init__(self) -> None:
        self.inner = load_plugin("churn")
        self.name, self.table = self.inner.name, self.inner.table
        self.enrichment_model = self.inner.enrichment_model
        self.received: list[Any] = []

    def enrich(self, envelopes: Any) -> Any:
        self.received.append(envelopes)
        return self.inner.enrich(envelopes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_plugin_gets_the_valid_envelopes_with_their_keys_and_headers_as_columns() -> None:
    """One call per batch; the rejected record is not in it, and each envelope's key and
    headers are the ones its record came with (slicing keeps them aligned)."""
    plugin = _Recording()
    other = "5f0c1d2e-0000-4000-8000-000000000003"
    envelope = build_envelope("churn", sample_payload("churn"), submission_id=other)
    second = InRecord(
        SUBMISSIONS,
        0,
        5,
        other.encode(),
        envelope.model_dump_json().encode(),
        (("traceparent", b"00-abc-def-01"),),
    )
    outcomes = EnrichLogic(plugin).process([_record(_value()), _record(b"{bad"), second], None)
    assert [type(o) for o in outcomes] == [Emit, Reject, Emit]
    (batch,) = plugin.received
    assert isinstance(batch, Batch) and len(batch) == 2
    assert [e.submission_id for e in batch] == [SUB_ID, other]
    assert batch.keys == (SUB_ID.encode(), other.encode())
    assert batch.headers == ((), (("traceparent", b"00-abc-def-01"),))
    assert batch[1:].keys == (other.encode(),) and batch[1:].items == (batch[1],)
    with pytest.raises(ValueError, match="differ in length"):
        Batch(batch.items, batch.keys[:1], batch.headers)
