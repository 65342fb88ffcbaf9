"""Envelope, blob reference, result base and registry rules."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from inferstream.schemas import (
    SCHEMA_VERSION,
    TASKS,
    BlobRef,
    BugReportPayload,
    ChurnResult,
    Envelope,
    UnknownTaskError,
    build_envelope,
    format_validation_error,
    get_task,
    make_result_id,
    new_submission_id,
    sample_payload,
    validate_submission_id,
)

SID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _envelope(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submission_id": SID,
        "task": "bug_report",
        "schema_version": 1,
        "produced_at": NOW.isoformat(),
        "payload": sample_payload("bug_report"),
    }
    data.update(overrides)
    return data


def _paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [path for path, _ in format_validation_error(exc.value)]


BugEnvelope = get_task("bug_report").envelope_model


def test_valid_envelope_defaults() -> None:
    env = BugEnvelope.model_validate(_envelope())
    assert env.source == "sdk"
    assert env.tenant == "default"
    assert env.blob is None
    assert isinstance(env.payload, BugReportPayload)


def test_registry_contracts() -> None:
    assert sorted(TASKS) == ["anomaly", "bug_report", "churn", "media", "target_risk"]
    for name, contract in TASKS.items():
        assert contract.name == name
        assert contract.schema_version == SCHEMA_VERSION == 1
        assert contract.envelope_model is Envelope[contract.payload_model]  # type: ignore[name-defined]
        assert contract.result_model.model_fields["task"].default == name


def test_unknown_task_lists_known_tasks() -> None:
    with pytest.raises(UnknownTaskError, match="known tasks: anomaly, bug_report, churn"):
        get_task("nope")
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        build_envelope("nope", {})


@pytest.mark.parametrize("where", ["envelope", "payload", "blob"])
def test_extra_fields_rejected(where: str) -> None:
    data = _envelope(
        blob={"uri": "s3://bucket/k", "sha256": "0" * 64, "size": 1, "content_type": "a/b"}
    )
    target = {"envelope": data, "payload": data["payload"], "blob": data["blob"]}[where]
    target["surprise"] = 1
    with pytest.raises(ValidationError) as exc:
        BugEnvelope.model_validate(data)
    expected = {"envelope": "surprise", "payload": "payload.surprise", "blob": "blob.surprise"}
    assert _paths(exc) == [expected[where]]


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        BugEnvelope.model_validate(_envelope(produced_at=datetime(2024, 1, 1)))
    assert _paths(exc) == ["produced_at"]
    with pytest.raises(ValidationError):
        build_envelope("churn", sample_payload("churn"), produced_at=datetime(2024, 1, 1))


def test_offset_datetime_accepted() -> None:
    at = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-3)))
    assert BugEnvelope.model_validate(_envelope(produced_at=at)).produced_at == at


def test_wrong_task_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        BugEnvelope.model_validate(_envelope(task="churn"))
    assert format_validation_error(exc.value) == [
        ("task", "must be 'bug_report' for this envelope, got 'churn'")
    ]


def test_payload_of_other_task_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        build_envelope("churn", BugReportPayload.model_validate(sample_payload("bug_report")))
    assert _paths(exc) == ["payload"]


@pytest.mark.parametrize(
    "sid",
    [
        "",
        "not-an-id",
        "01ARZ3NDEKTSV4RRFFQ69G5FA",  # 25 chars
        "01ARZ3NDEKTSV4RRFFQ69G5FAVX",  # 27 chars
        "01ARZ3NDEKTSV4RRFFQ69G5FAI",  # I is not Crockford
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",  # overflows 128 bits
        "0e2a9f3c-1b2c-4d5e-8f90-12345678901",  # 35 chars
        "0e2a9f3c1b2c4d5e8f90123456789012",  # no dashes
        "0e2a9f3c-1b2c-4d5e-8f90-12345678901g",
        "{0e2a9f3c-1b2c-4d5e-8f90-123456789012}",
    ],
)
def test_bad_submission_id_rejected(sid: str) -> None:
    with pytest.raises(ValidationError) as exc:
        BugEnvelope.model_validate(_envelope(submission_id=sid))
    assert _paths(exc) == ["submission_id"]


def test_submission_id_normalised() -> None:
    u = uuid.uuid4()
    assert validate_submission_id(str(u).upper()) == str(u)
    assert validate_submission_id(SID.lower()) == SID
    sid = new_submission_id()
    assert len(sid) == 26
    assert validate_submission_id(sid) == sid
    assert new_submission_id() != sid


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", ""),
        ("source", "s" * 129),
        ("tenant", ""),
        ("tenant", "t" * 65),
        ("tenant", "Upper"),
        ("tenant", "-lead"),
        ("schema_version", 0),
    ],
)
def test_envelope_field_bounds(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        BugEnvelope.model_validate(_envelope(**{field: value}))
    assert _paths(exc) == [field]


def test_envelope_bounds_at_limit_accepted() -> None:
    env = BugEnvelope.model_validate(_envelope(source="s" * 128, tenant="t" * 64))
    assert len(env.source) == 128


_BLOB = {"uri": "s3://my-bucket/a/b.png", "sha256": "ab" * 32, "size": 10, "content_type": "a/b"}


@pytest.mark.parametrize(
    "uri",
    ["s3://my-bucket/a/b.png", "file:///tmp/x.bin", "file://localhost/data/x", "s3://b.c.d/k"],
)
def test_blob_uri_accepted(uri: str) -> None:
    assert BlobRef.model_validate({**_BLOB, "uri": uri}).uri == uri


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("uri", "http://host/x"),
        ("uri", "s3://bucket"),
        ("uri", "s3://bucket/"),
        ("uri", "s3://Bucket/key"),
        ("uri", "file://relative"),
        ("uri", "s3://bucket/" + "k" * 1013),  # 1025 chars
        ("sha256", "AB" * 32),
        ("sha256", "ab" * 31),
        ("size", -1),
        ("size", 5 * 1024**3 + 1),
        ("content_type", "plain"),
        ("content_type", "text/plain; charset=utf-8"),
        ("content_type", "a/" + "b" * 254),
    ],
)
def test_blob_rejects(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        BlobRef.model_validate({**_BLOB, field: value})
    assert _paths(exc) == [field]


def test_blob_limits() -> None:
    assert BlobRef.model_validate({**_BLOB, "size": 5 * 1024**3}).size == 5 * 1024**3
    assert BlobRef.model_validate({**_BLOB, "content_type": "Image/PNG"}).content_type == (
        "image/png"
    )
    uri = "s3://bucket/" + "k" * 1012
    assert len(uri) == 1024
    assert BlobRef.model_validate({**_BLOB, "uri": uri}).uri == uri


def test_nul_and_surrogates_rejected() -> None:
    for bad in ("a\x00b", "a\ud800b"):
        payload = {**sample_payload("bug_report"), "title": bad}
        with pytest.raises(ValidationError) as exc:
            BugEnvelope.model_validate(_envelope(payload=payload))
        assert _paths(exc) == ["payload.title"]


def test_text_check_messages_and_non_ascii_text() -> None:
    """Plain text is checked in the validator itself: valid non-ASCII text passes unchanged, and
    NUL, ASCII text or not, is refused with the message of the whole check."""
    title = "Absturz beim Speichern: ü ß 日本 🐞"
    payload = {**sample_payload("bug_report"), "title": title}
    assert BugEnvelope.model_validate(_envelope(payload=payload)).payload.title == title
    for bad in ("\x00", "é\x00"):
        payload = {**sample_payload("bug_report"), "description": f"text {bad} text"}
        with pytest.raises(ValidationError) as exc:
            BugEnvelope.model_validate(_envelope(payload=payload))
        assert _paths(exc) == ["payload.description"]
        assert "must not contain NUL characters" in str(exc.value)


def test_text_check_skips_only_fields_that_cannot_hold_text() -> None:
    from typing import Literal

    from inferstream.schemas._base import FiniteFloat, _holds_no_text

    numeric = (float, list[float], list[FiniteFloat] | None, tuple[int, ...], Literal[1, 2])
    textual = (str, list[str], dict[str, float], list[float | str], Any, Literal["a"], datetime)
    assert all(_holds_no_text(t) for t in numeric)
    assert not any(_holds_no_text(t) for t in textual)
    # A NUL inside a nested text container is still found (the bug_report result's terms).
    result = {
        "submission_id": SID,
        "schema_version": 1,
        "model_name": "m",
        "model_version": "1",
        "produced_at": NOW,
        "duplicate_status": "unique",
        "content_sha256": "0" * 64,
        "embedding": [0.5] * 384,
        "dedup_terms": {"a\x00b": 1},
    }
    with pytest.raises(ValidationError) as exc:
        get_task("bug_report").result_model.model_validate(result)
    assert "NUL" in str(exc.value)


# --- result base -------------------------------------------------------------


def _churn_result(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submission_id": SID,
        "schema_version": 1,
        "model_name": "churn-gbm",
        "model_version": "2024.05.1",
        "produced_at": NOW,
        "probability": 0.7,
        "label": True,
        "threshold": 0.5,
    }
    data.update(overrides)
    return data


def test_make_result_id_deterministic() -> None:
    a = make_result_id(SID, "m", "1")
    assert a == make_result_id(SID, "m", "1")
    assert len(a) == 64
    assert int(a, 16) >= 0
    assert a != make_result_id(SID, "m", "2")
    assert a != make_result_id(SID, "n", "1")
    assert a != make_result_id("01ARZ3NDEKTSV4RRFFQ69G5FAW", "m", "1")
    # the separator keeps field boundaries: ("ab", "c") != ("a", "bc")
    assert make_result_id(SID, "ab", "c") != make_result_id(SID, "a", "bc")
    assert a == hashlib.sha256(f"{SID}\x1fm\x1f1".encode()).hexdigest()


def test_result_id_derived_and_checked() -> None:
    r = ChurnResult.model_validate(_churn_result())
    assert r.result_id == make_result_id(SID, "churn-gbm", "2024.05.1")
    assert r.task == "churn"
    ok = ChurnResult.model_validate(_churn_result(result_id=r.result_id))
    assert ok == r
    with pytest.raises(ValidationError) as exc:
        ChurnResult.model_validate(_churn_result(result_id="0" * 64))
    assert format_validation_error(exc.value)[0][0] == "(root)"


def test_result_id_uses_canonical_submission_id() -> None:
    r = ChurnResult.model_validate(_churn_result(submission_id=SID.lower()))
    assert r.submission_id == SID
    assert r.result_id == make_result_id(SID, "churn-gbm", "2024.05.1")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("task", "bug_report"),
        ("model_name", "m" * 129),
        ("model_version", "v" * 65),
        ("model_name", ""),
        ("produced_at", datetime(2024, 1, 1)),
        ("submission_id", "nope"),
        ("extra", 1),
    ],
)
def test_result_base_rejects(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        ChurnResult.model_validate(_churn_result(**{field: value}))
    assert field in _paths(exc)
