"""The sink stage on plain result fields, against the real embedded Postgres: a well-formed
result becomes one row (from the table's declaration), a structurally broken one and one with
an unusable value become dead letters with the reason, and the batch goes on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from _stack import Stack, scratch_database

from inferstream.plugins import encode_results, load_plugin, result_head
from inferstream.storage import migrate
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.sink.driver import SinkLogic
from inferstream.workers.sink.writer import PostgresSinkWriter

PRODUCED = datetime(2026, 12, 6, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "sp") as conninfo:
        migrate(conninfo)
        yield conninfo


def _churn(sid: str) -> dict[str, Any]:
    return {
        **result_head("churn", sid, 1, ("churn-logreg", "v1"), PRODUCED),
        "probability": 0.75,
        "label": True,
        "threshold": 0.5,
        "top_features": [{"name": "tenure_months", "contribution": -1.25}],
    }


def _record(offset: int, fields: dict[str, Any]) -> InRecord:
    (value,) = encode_results([fields])  # what infer writes
    return InRecord("results.churn", 0, offset, fields["submission_id"].encode(), value, ())


def test_rows_from_plain_fields_and_dead_letters_for_broken_results(conninfo: str) -> None:
    plugin = load_plugin("churn")
    writer = PostgresSinkWriter(conninfo, plugin.table, "sink-plain-test", "churn")
    logic = SinkLogic(plugin, writer)
    good, missing, bad_time = (str(uuid.uuid4()) for _ in range(3))
    broken = _churn(missing)
    del broken["probability"]
    batch = [
        _record(0, _churn(good)),
        _record(1, broken),
        _record(2, {**_churn(bad_time), "produced_at": "yesterday"}),
    ]
    try:
        assert len(logic.process(batch, None)) == 3
    finally:
        logic.close()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT submission_id, probability, label, top_features, produced_at FROM results_churn"
        ).fetchall()
        dead = dict(conn.execute("SELECT submission_id, reason FROM dead_letters").fetchall())
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (good, 0.75, True, [{"name": "tenure_months", "contribution": -1.25}])
    ]
    assert rows[0][4] == PRODUCED
    assert set(dead) == {missing, bad_time}
    assert "missing ['probability']" in dead[missing]
    assert "unusable field value" in dead[bad_time]
