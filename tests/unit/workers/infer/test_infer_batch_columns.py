"""What the infer stage hands the task's inferer: one Batch of the decodable records' items,
their Kafka keys and headers as aligned columns; an undecodable record is rejected and left out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inferstream.plugins import Batch, EnrichedItem, load_plugin
from inferstream.schemas import build_envelope
from inferstream.schemas.samples import sample_payload
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.topology import topic_name
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.infer.driver import InferLogic
from inferstream.workers.runtime.records import Emit, InRecord, Reject

ENRICHED = topic_name("enriched", "churn")


class _Inferer:
    """Records what prepare() gets; run() answers nothing the test reads."""

    def __init__(self) -> None:
        self.prepared: list[Sequence[EnrichedItem]] = []

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        self.prepared.append(items)
        return None

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected inferer.{name}")


def _enriched(sid: str) -> bytes:
    """What enrich writes for a valid churn submission."""
    envelope = build_envelope("churn", sample_payload("churn"), submission_id=sid)
    submitted = InRecord("s", 0, 0, sid.encode(), envelope.model_dump_json().encode())
    (outcome,) = EnrichLogic(load_plugin("churn")).process([submitted], None)
    assert isinstance(outcome, Emit)
    return outcome.messages[0].value


def test_the_inferer_gets_items_keys_and_headers_as_columns() -> None:
    first, second = "5f0c1d2e-0000-4000-8000-00000000000a", "5f0c1d2e-0000-4000-8000-00000000000b"
    records = [
        InRecord(ENRICHED, 1, 7, first.encode(), _enriched(first), (("traceparent", b"t1"),)),
        InRecord(ENRICHED, 1, 8, b"junk", b"{not an enriched record"),
        InRecord(ENRICHED, 1, 9, second.encode(), _enriched(second)),
    ]
    inferer = _Inferer()
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    logic = InferLogic(load_plugin("churn"), inferer, kafka, postgres, "test")  # type: ignore[arg-type]
    prepared: Any = logic.prepare(records)
    (batch,) = inferer.prepared
    assert isinstance(batch, Batch) and batch is prepared.items
    assert [item.envelope.submission_id for item in batch] == [first, second]
    assert [item.position for item in batch] == [(ENRICHED, 1, 7), (ENRICHED, 1, 9)]
    assert batch.keys == (first.encode(), second.encode())
    assert batch.headers == ((("traceparent", b"t1"),), ())
    assert isinstance(prepared.decoded[1], Reject)
