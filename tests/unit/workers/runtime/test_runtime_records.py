"""InRecord.from_message: a consumed Kafka message as the poll loop's input record."""

from __future__ import annotations

import dataclasses

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE, Message

from inferstream.workers.runtime.records import Emit, InRecord, OutMessage


def test_fields_and_headers_are_copied_as_they_are() -> None:
    headers = [("content-type", b"application/json"), ("X-Trace", b"t1"), ("x-trace", b"t2")]
    msg = Message(
        topic="results.bug_report",
        partition=3,
        offset=41,
        key=b"k",
        value=b"{}",
        headers=headers,
        timestamp=(TIMESTAMP_CREATE_TIME, 1_700_000_000_000),
    )
    record = InRecord.from_message(msg, polled_at=12.5)
    assert record == InRecord(
        "results.bug_report", 3, 41, b"k", b"{}", tuple(headers), 1_700_000_000_000, 12.5
    )
    assert isinstance(record.headers, tuple)
    assert record.header("x-trace") == "t2"  # the last value of a name, any case


def test_a_header_without_a_value_reads_as_empty() -> None:
    msg = Message(topic="t", partition=0, offset=0, value=b"v", headers=[("a", None), ("b", b"1")])
    record = InRecord.from_message(msg)
    assert record.headers == (("a", b""), ("b", b"1"))
    assert record.header("a") == ""


def test_missing_key_value_headers_and_timestamp() -> None:
    msg = Message(topic="t", partition=1, offset=7, timestamp=(TIMESTAMP_NOT_AVAILABLE, -1))
    record = InRecord.from_message(msg)
    assert (record.key, record.value, record.headers, record.timestamp_ms) == (None, b"", (), None)
    assert record.position == ("t", 1)
    assert record.header("content-type") is None


def test_from_message_sets_exactly_the_dataclass_fields_and_stays_frozen() -> None:
    """The records' own __init__ fills the instance's fields in one step: the same fields, a
    record like any other (frozen, hashable, replaceable)."""
    msg = Message(topic="t", partition=2, offset=9, key=b"k", value=b"v", headers=[("h", b"1")])
    record = InRecord.from_message(msg, polled_at=1.0)
    assert list(vars(record)) == [f.name for f in dataclasses.fields(InRecord)]
    assert hash(record) == hash(InRecord("t", 2, 9, b"k", b"v", (("h", b"1"),), None, 1.0))
    assert dataclasses.replace(record, offset=10).offset == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.offset = 11  # type: ignore[misc]


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (InRecord("t", 1, 2, None, b""), InRecord("t", 1, 2, None, b"", (), None, 0.0)),
        (OutMessage(topic="t", key=b"k", value=b"v"), OutMessage("t", b"k", b"v", ())),
        (Emit(), Emit(messages=())),
    ],
)
def test_the_records_own_init_keeps_the_dataclass_fields_and_defaults(
    made: object, expected: object
) -> None:
    assert made == expected and hash(made) == hash(expected)
    assert list(vars(made)) == [f.name for f in dataclasses.fields(made)]  # type: ignore[arg-type]
    assert all(
        getattr(made, f.name) == f.default
        for f in dataclasses.fields(made)  # type: ignore[arg-type]
        if f.default is not dataclasses.MISSING and f.name in ("headers", "messages")
    )


def test_header_bytes_is_the_last_value_as_it_came() -> None:
    record = InRecord("t", 0, 0, None, b"", (("A", b"\xff1"), ("a", b"\xfe2"), ("b", b"")))
    assert record.header_bytes("a") == b"\xfe2"
    assert record.header("a") == b"\xfe2".decode(errors="replace")
    assert record.header_bytes("b") == b"" and record.header_bytes("c") is None
