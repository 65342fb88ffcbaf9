"""What the sink makes of a batch before Postgres sees it: the offsets to store (one past the
last record of each partition), rows for decodable results, dead-letter rows for this task's
dead letters and for undecodable results, and nothing for other tasks' dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import psycopg
import pytest

from inferstream.errors import PoisonBatchError, TransientError
from inferstream.plugins import load_plugin
from inferstream.schemas.tasks.churn import ChurnResult
from inferstream.topology import DEADLETTER_TOPIC, topic_name
from inferstream.workers.runtime.headers import SUBMISSION_ID
from inferstream.workers.runtime.records import Emit, InRecord
from inferstream.workers.sink.driver import SinkLogic, _submission_of
from inferstream.workers.sink.writer import SinkBatch, parse_time

RESULTS = topic_name("results", "churn")


class _Writer:
    """Keeps the batch it is given; raises what a Postgres error would make of it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[SinkBatch] = []
        self.error = error

    def write(self, batch: SinkBatch) -> None:
        if self.error is not None:
            raise self.error
        self.batches.append(batch)


def _sink(writer: _Writer) -> SinkLogic:
    return SinkLogic(load_plugin("churn"), writer)  # type: ignore[arg-type]


def _result() -> ChurnResult:
    return ChurnResult(
        submission_id="5f0c1d2e-0000-4000-8000-000000000001",
        schema_version=1,
        model_name="churn",
        model_version="v1",
        produced_at=datetime(2026, 12, 6, tzinfo=UTC),
        probability=0.7,
        label=True,
        threshold=0.5,
    )


def _dead(offset: int, origin: str, reason: str = "bad") -> InRecord:
    headers = (
        ("x-original-topic", origin.encode()),
        ("x-error-stage", b"enrich"),
        ("x-error-reason", reason.encode()),
        ("x-original-partition", b"1"),
        ("x-original-offset", b"7"),
        (SUBMISSION_ID, b"sub-9"),
    )
    return InRecord(DEADLETTER_TOPIC, 0, offset, b"sub-9", b"{}", headers)


def test_offsets_dead_letters_and_undecodable_results() -> None:
    writer = _Writer()
    batch = [
        InRecord(RESULTS, 0, 4, b"k1", b"not json"),
        InRecord(RESULTS, 0, 9, b"k2", orjson.dumps({"submission_id": "k2"})),  # fields missing
        InRecord(RESULTS, 1, 2, None, b"[]"),
        InRecord(RESULTS, 1, 5, None, _result().model_dump_json().encode()),
        _dead(30, topic_name("submissions", "churn"), reason="schema violation"),
        _dead(31, topic_name("submissions", "bug_report")),  # another task's: its sink's
    ]
    outcomes = _sink(writer).process(batch, None)
    assert all(isinstance(o, Emit) for o in outcomes) and len(outcomes) == 6
    (written,) = writer.batches
    assert written.offsets == {(RESULTS, 0): 10, (RESULTS, 1): 6, (DEADLETTER_TOPIC, 0): 32}
    result = _result()
    assert written.done == [(result.submission_id, "churn", "default", result.result_id)]
    assert len(written.rows) == 1
    stages = sorted((d.stage, d.original_offset) for d in written.dead)
    assert stages == [("enrich", 7), ("sink", 2), ("sink", 4), ("sink", 9)]
    ours = next(d for d in written.dead if d.stage == "enrich")
    assert (ours.submission_id, ours.reason, ours.original_partition) == (
        "sub-9",
        "schema violation",
        1,
    )
    assert all(d.reason.startswith("undecodable result") for d in written.dead if d.stage == "sink")


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (psycopg.OperationalError("down"), TransientError),
        (psycopg.errors.UniqueViolation("dup"), PoisonBatchError),
    ],
)
def test_postgres_errors_become_transient_or_poison(error: Exception, raised: type) -> None:
    with pytest.raises(raised):
        _sink(_Writer(error)).process([InRecord(RESULTS, 0, 0, None, b"x")], None)


def test_a_dead_letter_belongs_to_its_header_else_its_key() -> None:
    assert _submission_of(InRecord("t", 0, 0, b"key", b"", ((SUBMISSION_ID, b"hdr"),))) == "hdr"
    assert _submission_of(InRecord("t", 0, 0, b"key", b"")) == "key"
    assert _submission_of(InRecord("t", 0, 0, None, b"")) is None


def test_submitted_at_parses_iso_8601_or_nothing() -> None:
    parsed = parse_time("2026-12-06T15:00:00Z")
    assert parsed is not None and parsed.utcoffset() is not None and parsed.hour == 15
    assert parse_time(None) is None
    assert parse_time("yesterday") is None
