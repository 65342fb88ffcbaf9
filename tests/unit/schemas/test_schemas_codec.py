"""Codec behaviour on bad input and validation-error formatting."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from inferstream.schemas import (
    AnomalyPayload,
    ChurnResult,
    DecodeError,
    UnknownTaskError,
    build_envelope,
    decode_envelope,
    decode_result,
    encode,
    format_loc,
    format_validation_error,
    sample_payload,
)


@pytest.mark.parametrize("data", [b"", b"{", b"not json", b'{"a": 1,}', b"\xff\xfe", b"NaN", "{"])
def test_malformed_json_is_decode_error(data: bytes | str) -> None:
    with pytest.raises(DecodeError, match="malformed JSON") as exc:
        decode_envelope("churn", data)
    assert not isinstance(exc.value, orjson.JSONDecodeError)
    assert isinstance(exc.value, ValueError)
    with pytest.raises(DecodeError):
        decode_result("churn", data)


@pytest.mark.parametrize("data", [b"[]", b"1", b"null", b'"x"', b"{}"])
def test_wellformed_non_envelope_is_validation_error(data: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_envelope("churn", data)


def test_decode_unknown_task() -> None:
    with pytest.raises(UnknownTaskError):
        decode_envelope("nope", b"{}")
    with pytest.raises(UnknownTaskError):
        decode_result("nope", b"{}")


def test_decode_checks_task_of_message() -> None:
    env = build_envelope("churn", sample_payload("churn"))
    with pytest.raises(ValidationError) as exc:
        decode_envelope("anomaly", encode(env))
    paths = [p for p, _ in format_validation_error(exc.value)]
    assert "task" in paths


def test_encode_is_compact_json() -> None:
    env = build_envelope(
        "anomaly",
        sample_payload("anomaly"),
        submission_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        produced_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    raw = encode(env)
    doc = orjson.loads(raw)
    assert doc["task"] == "anomaly"
    assert doc["produced_at"] == "2024-01-01T00:00:00Z"
    assert doc["payload"]["features"]["cpu_util"] == 0.93
    assert b" " not in raw.split(b'"series_id"')[0]


def test_format_loc() -> None:
    assert format_loc(()) == "(root)"
    assert format_loc(("payload", "title")) == "payload.title"
    assert format_loc(("payload", "window", 3, "timestamp")) == "payload.window[3].timestamp"
    assert format_loc((0, "a")) == "[0].a"


def test_format_validation_error_paths_and_messages() -> None:
    payload = {**sample_payload("bug_report"), "title": "", "extra": 1}
    with pytest.raises(ValidationError) as exc:
        build_envelope("bug_report", payload, tenant="BAD")
    lines = format_validation_error(exc.value)
    as_dict = dict(lines)
    assert set(as_dict) == {"tenant", "payload.title", "payload.extra"}
    assert "at least 1 character" in as_dict["payload.title"]
    assert as_dict["payload.extra"] == "Extra inputs are not permitted"


def test_format_validation_error_root_and_value_error_prefix() -> None:
    with pytest.raises(ValidationError) as exc:
        AnomalyPayload.model_validate({"series_id": "s"})
    assert format_validation_error(exc.value) == [
        ("(root)", "exactly one of 'features' or 'window' must be given")
    ]
    with pytest.raises(ValidationError) as exc:
        ChurnResult.model_validate({"submission_id": "x"})
    paths = [p for p, _ in format_validation_error(exc.value)]
    assert paths[0] == "submission_id"
    assert "result_id" not in paths
    assert "probability" in paths
