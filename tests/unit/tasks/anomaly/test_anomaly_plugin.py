"""The anomaly plug-in through the generic enrich stage: records keyed by series (one
partition per series), a table row for every result field the window rebuild needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb

from inferstream.plugins import load_plugin
from inferstream.schemas import AnomalyResult, encode, make_headers, sample_payload
from inferstream.schemas.codec import build_envelope
from inferstream.tasks.anomaly.plugin import TABLE, plugin
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord


def _record(payload: dict[str, object]) -> InRecord:
    envelope = build_envelope("anomaly", payload)
    return InRecord(
        "submissions.anomaly",
        1,
        7,
        envelope.submission_id.encode(),
        encode(envelope),
        tuple((k, v.encode() if isinstance(v, str) else v) for k, v in make_headers(1)),
    )


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.obj if isinstance(v, Jsonb) else v for v in row)


def test_enrich_keys_the_enriched_record_by_series() -> None:
    logic = EnrichLogic(load_plugin("anomaly"))
    outcome = logic.enrich_one(_record(sample_payload("anomaly")))
    assert isinstance(outcome, Emit)
    (message,) = outcome.messages
    assert message.topic == "enriched.anomaly"
    assert message.key == b"host-42/cpu"
    body = orjson.loads(message.value)
    assert body["enrichment"]["values"] == [0.93, 0.41, 7.5]


def test_other_tasks_keep_the_submission_id_as_key() -> None:
    payload = sample_payload("churn")
    envelope = build_envelope("churn", payload)
    record = InRecord(
        "submissions.churn", 0, 0, envelope.submission_id.encode(), encode(envelope), ()
    )
    outcome = EnrichLogic(load_plugin("churn")).enrich_one(record)
    assert isinstance(outcome, Emit)
    assert outcome.messages[0].key == envelope.submission_id.encode()


def test_the_row_has_one_value_per_column_and_round_trips_the_window_fields() -> None:
    result = AnomalyResult(
        submission_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        schema_version=1,
        model_name="anomaly-iforest",
        model_version="abc",
        produced_at=datetime(2024, 1, 1, tzinfo=UTC),
        series_id="s",
        observed_at=datetime(2024, 1, 1, tzinfo=UTC),
        features={"cpu_util": 0.5, "mem_util": 0.2, "load_1m": 1.0},
        input_partition=3,
        input_offset=42,
        score=0.4,
        threshold=0.55,
        is_anomaly=False,
        detector="isolation_forest",
    )
    # From the plain fields infer writes (decoded JSON: times as strings) and from the model.
    row = plugin().table.row(orjson.loads(encode(result)), None)
    assert _plain(row) == _plain(TABLE.row(result.model_dump(), None))
    assert len(row) == len(TABLE.columns) == len(TABLE.types)
    named = dict(zip(TABLE.columns, row, strict=True))
    assert (named["series_id"], named["input_partition"], named["input_offset"]) == ("s", 3, 42)
    assert named["observed_at"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert named["features"].obj == {"cpu_util": 0.5, "mem_util": 0.2, "load_1m": 1.0}
    for reserved in ("txid", "seq", "created_at"):
        assert reserved not in TABLE.columns
