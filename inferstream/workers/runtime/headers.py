"""Headers a stage passes on: content type, schema version, trace context, submission time."""

from __future__ import annotations

from datetime import datetime

from inferstream.schemas import child_traceparent, make_headers, new_traceparent
from inferstream.workers.runtime.records import InRecord

SUBMITTED_AT = "x-submitted-at"


def forward_headers(
    record: InRecord, schema_version: int, submitted_at: datetime | str | None
) -> tuple[tuple[str, bytes], ...]:
    """Headers for an output derived from record: a child span of its trace, and when the
    submission was produced (for end-to-end latency downstream)."""
    parent = record.header("traceparent")
    trace = child_traceparent(parent) if parent else new_traceparent()
    headers = list(make_headers(schema_version, trace))
    if submitted_at is not None:
        value = submitted_at.isoformat() if isinstance(submitted_at, datetime) else submitted_at
        headers.append((SUBMITTED_AT, value.encode()))
    return tuple(headers)
