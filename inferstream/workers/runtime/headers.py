"""Headers a stage passes on: content type, schema version, trace context, submission time and
submission id."""

from __future__ import annotations

from datetime import datetime

from inferstream.schemas import child_traceparent, make_headers, new_traceparent
from inferstream.workers.runtime.records import InRecord

SUBMITTED_AT = "x-submitted-at"
# The submission a record belongs to, whatever its key (a task may key enriched records by
# something else, e.g. anomaly by series): dead letters of later stages are filed under it.
SUBMISSION_ID = "x-submission-id"


def forward_headers(
    record: InRecord,
    schema_version: int,
    submitted_at: datetime | str | None,
    submission_id: str | None = None,
) -> tuple[tuple[str, bytes], ...]:
    """Headers for an output derived from record: a child span of its trace, when the
    submission was produced (for end-to-end latency downstream) and its id (given, or the
    record's own header)."""
    parent = record.header("traceparent")
    trace = child_traceparent(parent) if parent else new_traceparent()
    headers = list(make_headers(schema_version, trace))
    if submitted_at is not None:
        value = submitted_at.isoformat() if isinstance(submitted_at, datetime) else submitted_at
        headers.append((SUBMITTED_AT, value.encode()))
    submission = submission_id or record.header(SUBMISSION_ID)
    if submission:
        headers.append((SUBMISSION_ID, submission.encode()))
    return tuple(headers)
