"""Headers a stage passes on: the submission id survives re-keying and reaches dead letters."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import make_headers, parse_traceparent
from inferstream.workers.runtime.deadletter import deadletter_message
from inferstream.workers.runtime.headers import (
    SUBMISSION_ID,
    SUBMITTED_AT,
    child_of,
    child_of_bytes,
    forward_headers,
)
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


_HEXES = "0123456789abcdefA"
_NEAR_VALID = st.builds(
    "{}-{}-{}-{}{}".format,
    st.sampled_from(["00", "01", "ff", "0A"]),
    st.text(alphabet=_HEXES, min_size=31, max_size=33) | st.just("0" * 32),
    st.text(alphabet=_HEXES, min_size=15, max_size=17) | st.just("0" * 16),
    st.text(alphabet=_HEXES, min_size=2, max_size=2),
    st.sampled_from(["", " ", "-x", "\t"]),
)


@given(_NEAR_VALID | st.text(alphabet="0123456789abcdefABx- \t", min_size=50, max_size=60))
def test_child_of_follows_the_w3c_rules_on_any_parent(parent: str) -> None:
    child = parse_traceparent(child_of(parent))
    assert child is not None and child.version == "00"
    parsed = parse_traceparent(parent)
    if parsed is None:
        return  # an invalid parent starts a new trace
    assert (child.trace_id, child.trace_flags) == (parsed.trace_id, parsed.trace_flags)
    assert child.parent_id != parsed.parent_id


@given(
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=8, max_size=8),
    st.integers(0, 255),
    st.integers(1, 9),
)
def test_forwarded_headers_are_make_headers_of_a_child_span(
    trace: bytes, span: bytes, flags: int, version: int
) -> None:
    parent = f"00-{trace.hex()}-{span.hex()}-{flags:02x}"
    record = _record("t", b"k", (("TraceParent", b"ignored"), ("traceparent", parent.encode())))
    headers = forward_headers(record, version, None)
    trace_header = dict(headers)["traceparent"].decode()
    assert list(headers) == make_headers(version, trace_header)
    child, parsed = parse_traceparent(trace_header), parse_traceparent(parent)
    assert child is not None
    if parsed is not None:  # the last header of that name counts
        assert child.trace_id == parsed.trace_id and child.trace_flags == flags
    else:  # all-zero ids: a new trace
        assert child.trace_id != trace.hex()


def test_a_schema_version_below_1_is_refused() -> None:
    with pytest.raises(ValueError, match="schema_version must be >= 1"):
        forward_headers(_record("t", b"k"), 0, None)


_HEADER_BYTES = st.binary(max_size=60) | _NEAR_VALID.map(str.encode)


def _seeded_hex(n: int) -> str:
    """schemas.headers' random ids (a new trace) from ``random``, so a seed repeats them."""
    return f"{random.getrandbits(8 * n) | 1:0{2 * n}x}"


@given(_HEADER_BYTES | st.none(), st.integers(0, 2**32))
def test_child_of_bytes_is_child_of_the_decoded_value(parent: bytes | None, seed: int) -> None:
    """The bytes fast path writes what child_of of the value header() decodes writes, with the
    same random span id: valid parents, near misses, invalid UTF-8, none."""
    with patch("inferstream.schemas.headers._random_hex", _seeded_hex):
        random.seed(seed)
        expected = child_of(None if parent is None else parent.decode(errors="replace"))
        random.seed(seed)
        assert child_of_bytes(parent) == expected.encode()


@given(_HEADER_BYTES, st.binary(max_size=40), st.integers(0, 2**32))
def test_forwarded_headers_are_those_of_the_decoded_values(
    trace: bytes, submission: bytes, seed: int
) -> None:
    """What forward_headers built from the decoded headers before: the trace and a carried
    submission id written back from header()'s decoding (invalid UTF-8 replaced)."""
    record = _record("t", b"k", (("traceparent", trace), (SUBMISSION_ID, submission)))
    with patch("inferstream.schemas.headers._random_hex", _seeded_hex):
        random.seed(seed)
        headers = dict(forward_headers(record, 1, "2026-12-07T10:00:00+00:00"))
        random.seed(seed)
        assert headers["traceparent"] == child_of(trace.decode(errors="replace")).encode()
    carried = submission.decode(errors="replace")
    assert headers.get(SUBMISSION_ID) == (carried.encode() if carried else None)
    assert headers[SUBMITTED_AT] == b"2026-12-07T10:00:00+00:00"


@given(st.binary(max_size=40) | st.none(), st.integers(0, 2**32))
def test_a_submission_time_forwarded_as_bytes_is_written_as_its_decoding(
    submitted: bytes | None, seed: int
) -> None:
    """infer forwards the record's own x-submitted-at: its bytes as they came give the headers
    header()'s decoding gave (invalid UTF-8 replaced; absent: no header)."""
    headers: tuple[tuple[str, bytes], ...] = (
        ("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"),
    )
    if submitted is not None:
        headers += ((SUBMITTED_AT, submitted),)
    record = _record("t", b"k", headers)
    with patch("inferstream.schemas.headers._random_hex", _seeded_hex):
        random.seed(seed)
        expected = forward_headers(record, 1, record.header(SUBMITTED_AT))
        random.seed(seed)
        assert forward_headers(record, 1, record.header_bytes(SUBMITTED_AT)) == expected
