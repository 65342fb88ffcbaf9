"""The sink reads x-submitted-at by one pass over a record's headers: the same time as the
record's own header look-up (last value wins, any case, undecodable or odd values)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.records import InRecord
from inferstream.workers.sink.driver import _submitted_at
from inferstream.workers.sink.writer import parse_time

_NAMES = st.sampled_from(["x-submitted-at", "X-Submitted-At", "x-submission-id", "traceparent"])
_VALUES = st.sampled_from(
    [b"2026-12-07T18:00:00.123456+00:00", b"2026-12-07T18:00:01Z", b"", b"nope", b"\xff\xfe"]
)


@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=6))
def test_submitted_at_reads_as_the_record_header(headers: list[tuple[str, bytes]]) -> None:
    record = InRecord("results.bug_report", 0, 0, None, b"{}", tuple(headers))
    assert _submitted_at(record.headers) == parse_time(record.header("x-submitted-at"))


def test_the_last_value_wins() -> None:
    headers = (
        ("x-submitted-at", b"2026-12-07T18:00:00Z"),
        ("X-Submitted-At", b"2026-12-07T19:00:00Z"),
    )
    found = _submitted_at(headers)
    assert found is not None and found.hour == 19
