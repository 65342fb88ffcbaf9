"""Headers a stage passes on: the submission id survives re-keying and reaches dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

from inferstream.workers.runtime.deadletter import deadletter_message
from inferstream.workers.runtime.headers import SUBMISSION_ID, SUBMITTED_AT, forward_headers
from inferstream.workers.runtime.records import InRecord, Reject


def _record(topic: str, key: bytes, headers: tuple[tuple[str, bytes], ...] = ()) -> InRecord:
    return InRecord(topic, 0, 7, key, b"{}", headers)


def test_the_submission_id_follows_a_record_whose_key_is_something_else() -> None:
    submitted = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    enriched = forward_headers(_record("submissions.anomaly", b"sub-1"), 1, submitted, "sub-1")
    # Enrich keys the anomaly record by its series; infer forwards the headers it received.
    at_infer = _record("enriched.anomaly", b"series-42", enriched)
    assert at_infer.header(SUBMISSION_ID) == "sub-1"
    result = forward_headers(at_infer, 1, at_infer.header(SUBMITTED_AT))
    assert dict(result)[SUBMISSION_ID] == b"sub-1"
    assert dict(result)[SUBMITTED_AT] == submitted.isoformat().encode()
    # A poison record rejected by infer: the dead letter still names the submission.
    dead = deadletter_message("infer", at_infer, Reject("poison record: boom", kind="poison"))
    as_record = _record("deadletter", dead.key or b"", dead.headers)
    assert as_record.key == b"series-42" and as_record.header(SUBMISSION_ID) == "sub-1"


def test_no_submission_id_no_header() -> None:
    headers = dict(forward_headers(_record("t", b"k"), 1, None))
    assert SUBMISSION_ID not in headers and SUBMITTED_AT not in headers
    assert "traceparent" in headers
