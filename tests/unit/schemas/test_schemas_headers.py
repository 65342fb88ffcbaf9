"""Kafka headers and W3C traceparent handling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import (
    CONTENT_TYPE,
    TraceParent,
    child_traceparent,
    make_headers,
    new_traceparent,
    parse_traceparent,
    read_headers,
)


def _nonzero(n: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=n, max_size=n).filter(any).map(bytes.hex)


@given(
    version=st.integers(0, 254).map(lambda v: f"{v:02x}"),
    trace_id=_nonzero(16),
    parent_id=_nonzero(8),
    flags=st.integers(0, 255),
)
def test_traceparent_parse_roundtrip(
    version: str, trace_id: str, parent_id: str, flags: int
) -> None:
    value = f"{version}-{trace_id}-{parent_id}-{flags:02x}"
    parsed = parse_traceparent(value)
    assert parsed == TraceParent(version, trace_id, parent_id, flags)
    assert str(parsed) == value
    assert parsed.sampled == bool(flags & 1)


@pytest.mark.parametrize("sampled", [True, False])
def test_new_traceparent_valid_and_child_keeps_trace(sampled: bool) -> None:
    value = new_traceparent(sampled=sampled)
    parsed = parse_traceparent(value)
    assert parsed is not None
    assert parsed.version == "00"
    assert parsed.sampled is sampled
    assert parsed.trace_id != "0" * 32
    assert parsed.parent_id != "0" * 16
    child = parse_traceparent(child_traceparent(value))
    assert child is not None
    assert child.trace_id == parsed.trace_id
    assert child.parent_id != parsed.parent_id
    assert child.trace_flags == parsed.trace_flags


def test_new_traceparents_differ() -> None:
    assert len({new_traceparent() for _ in range(100)}) == 100
    assert parse_traceparent(new_traceparent(sampled=False)).trace_flags == 0  # type: ignore[union-attr]


VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        VALID.upper(),
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        VALID + "-extra",  # version 00 must be exactly 55 characters
        VALID[:-1],
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ],
)
def test_traceparent_invalid(value: str) -> None:
    assert parse_traceparent(value) is None


def test_traceparent_future_version_and_whitespace() -> None:
    future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    parsed = parse_traceparent(future)
    assert parsed is not None
    assert parsed.version == "cc"
    assert parse_traceparent(f" {VALID}\t") == parse_traceparent(VALID)


def test_child_of_invalid_starts_new_trace() -> None:
    child = parse_traceparent(child_traceparent("garbage"))
    assert child is not None
    assert child.version == "00"


def test_make_headers() -> None:
    headers = make_headers(1, VALID)
    assert headers == [
        ("content-type", b"application/json"),
        ("schema-version", b"1"),
        ("traceparent", VALID.encode()),
    ]
    generated = dict(make_headers(3))
    assert generated["schema-version"] == b"3"
    assert parse_traceparent(generated["traceparent"].decode()) is not None
    with pytest.raises(ValueError, match="invalid traceparent"):
        make_headers(1, "nope")
    with pytest.raises(ValueError, match="schema_version"):
        make_headers(0)


@given(st.integers(1, 10_000), st.booleans())
def test_make_read_headers_roundtrip(version: int, explicit: bool) -> None:
    tp = new_traceparent() if explicit else None
    read = read_headers(list(make_headers(version, tp)))
    assert read["content-type"] == CONTENT_TYPE
    assert int(read["schema-version"]) == version
    if tp is not None:
        assert read["traceparent"] == tp
    assert parse_traceparent(read["traceparent"]) is not None


def test_read_headers_edge_cases() -> None:
    assert read_headers(None) == {}
    assert read_headers([]) == {}
    got = read_headers(
        [("X", b"1"), ("x", b"2"), ("none", None), ("Content-Type", b"a/b"), ("bad", b"\xff")]
    )
    assert got == {"x": "2", "content-type": "a/b", "bad": "\ufffd"}
