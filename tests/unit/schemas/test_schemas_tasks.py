"""Per-task payload and result rules: bounds, domain, anomaly exactly-one, media limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from inferstream.schemas import (
    MAX_MEDIA_BYTES,
    AnomalyPayload,
    BugReportPayload,
    BugReportResult,
    ChurnPayload,
    MediaPayload,
    TargetRiskPayload,
    TargetRiskResult,
    format_validation_error,
    get_task,
    sample_payload,
    validate_hostname,
)

SID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return format_validation_error(exc.value)


def _paths(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    return [path for path, _ in _errors(model, data)]


def test_samples_valid_for_every_task() -> None:
    for task in ("bug_report", "target_risk", "media", "anomaly", "churn"):
        payload = get_task(task).payload_model.model_validate(sample_payload(task))
        assert payload.model_dump(mode="json")


# (model, task, field, bound, kind): one over the bound is rejected, at the bound accepted.
STRING_BOUNDS = [
    (BugReportPayload, "bug_report", "title", 300),
    (BugReportPayload, "bug_report", "description", 20_000),
    (BugReportPayload, "bug_report", "steps_to_reproduce", 20_000),
    (BugReportPayload, "bug_report", "logs", 100_000),
    (BugReportPayload, "bug_report", "product", 100),
    (BugReportPayload, "bug_report", "component", 100),
    (BugReportPayload, "bug_report", "reporter", 200),
    (TargetRiskPayload, "target_risk", "description", 5000),
    (AnomalyPayload, "anomaly", "series_id", 128),
    (ChurnPayload, "churn", "customer_id", 128),
    (MediaPayload, "media", "filename", 255),
]


@pytest.mark.parametrize(("model", "task", "field", "bound"), STRING_BOUNDS)
def test_string_bounds(model: type[BaseModel], task: str, field: str, bound: int) -> None:
    ok = model.model_validate({**sample_payload(task), field: "x" * bound})
    assert len(getattr(ok, field)) == bound
    assert _paths(model, {**sample_payload(task), field: "x" * (bound + 1)}) == [field]


@pytest.mark.parametrize(
    ("model", "task", "field"),
    [
        (BugReportPayload, "bug_report", "title"),
        (BugReportPayload, "bug_report", "description"),
        (BugReportPayload, "bug_report", "product"),
        (AnomalyPayload, "anomaly", "series_id"),
        (ChurnPayload, "churn", "customer_id"),
    ],
)
def test_required_strings_non_empty(model: type[BaseModel], task: str, field: str) -> None:
    assert _paths(model, {**sample_payload(task), field: ""}) == [field]


def test_bug_report_optional_sections_default_empty() -> None:
    p = BugReportPayload(title="t", description="d", product="p")
    assert (p.steps_to_reproduce, p.logs, p.component, p.reporter) == ("", "", "", "")


def test_technology_stack_bounds() -> None:
    base = sample_payload("target_risk")
    assert (
        len(
            TargetRiskPayload.model_validate(
                {**base, "technology_stack": ["x"] * 50}
            ).technology_stack
        )
        == 50
    )
    assert _paths(TargetRiskPayload, {**base, "technology_stack": ["x"] * 51}) == [
        "technology_stack"
    ]
    assert _paths(TargetRiskPayload, {**base, "technology_stack": ["ok", "y" * 65]}) == [
        "technology_stack[1]"
    ]
    assert _paths(TargetRiskPayload, {**base, "technology_stack": [""]}) == ["technology_stack[0]"]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("api.example.com", "api.example.com"),
        ("API.Example.COM", "api.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c0.io", "a-b.c0.io"),
        ("1.2.3.example", "1.2.3.example"),
    ],
)
def test_domain_valid(domain: str, expected: str) -> None:
    p = TargetRiskPayload.model_validate({**sample_payload("target_risk"), "domain": domain})
    assert p.domain == expected


@pytest.mark.parametrize(
    "domain",
    [
        "http://x.com",
        "1.2.3.4",
        "localhost",
        "exa mple.com",
        "a_b.com",
        "example.com:8080",
        "example.com/path",
        "-a.com",
        "a-.com",
        "a..com",
        "example.com.",
        "[::1]",
        ("a" * 64) + ".com",
        ".".join(["a" * 63] * 4),  # 255 chars
        "bücher.de",
    ],
)
def test_domain_invalid(domain: str) -> None:
    assert _paths(TargetRiskPayload, {**sample_payload("target_risk"), "domain": domain}) == [
        "domain"
    ]


def test_validate_hostname_function() -> None:
    assert validate_hostname("Sub.Example.org") == "sub.example.org"
    with pytest.raises(ValueError, match="IP address"):
        validate_hostname("10.0.0.1")


# --- anomaly -------------------------------------------------------------------

_WINDOW = [
    {"timestamp": "2024-01-01T00:00:00Z", "features": {"a": 1.0, "b": 2.0}},
    {"timestamp": "2024-01-01T00:01:00+01:00", "features": {"b": 3.0, "a": 4.0}},
]


def test_anomaly_window_accepted() -> None:
    p = AnomalyPayload.model_validate({"series_id": "s", "window": _WINDOW})
    assert p.window is not None
    assert len(p.window) == 2
    assert p.features is None


@pytest.mark.parametrize(
    "data",
    [
        {"series_id": "s"},
        {"series_id": "s", "features": {"a": 1.0}, "window": _WINDOW},
        {"series_id": "s", "features": None, "window": None},
    ],
)
def test_anomaly_exactly_one(data: dict[str, Any]) -> None:
    assert _errors(AnomalyPayload, data) == [
        ("(root)", "exactly one of 'features' or 'window' must be given")
    ]


def test_anomaly_window_keys_must_agree() -> None:
    window = [*_WINDOW, {"timestamp": "2024-01-01T00:02:00Z", "features": {"a": 1.0}}]
    errors = _errors(AnomalyPayload, {"series_id": "s", "window": window})
    assert errors == [("(root)", "window[2].features has different feature names than window[0]")]


def test_anomaly_bounds() -> None:
    many = {f"f{i}": 0.0 for i in range(513)}
    assert _paths(AnomalyPayload, {"series_id": "s", "features": many}) == ["features"]
    assert AnomalyPayload(series_id="s", features={f"f{i}": 0.0 for i in range(512)}).features
    assert _paths(AnomalyPayload, {"series_id": "s", "features": {}}) == ["features"]
    assert _paths(AnomalyPayload, {"series_id": "s", "features": {"k" * 65: 1.0}}) == [
        f"features.{'k' * 65}.[key]"
    ]
    assert _paths(AnomalyPayload, {"series_id": "s", "window": []}) == ["window"]
    record = {"timestamp": "2024-01-01T00:00:00Z", "features": {"a": 1.0}}
    assert _paths(AnomalyPayload, {"series_id": "s", "window": [record] * 1001}) == ["window"]
    assert AnomalyPayload.model_validate({"series_id": "s", "window": [record] * 1000}).window


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_rejected(bad: float) -> None:
    assert _paths(AnomalyPayload, {"series_id": "s", "features": {"a": bad}}) == ["features.a"]
    assert _paths(ChurnPayload, {**sample_payload("churn"), "monthly_charges": bad}) == [
        "monthly_charges"
    ]


def test_anomaly_naive_timestamps_rejected() -> None:
    naive = "2024-01-01T00:00:00"
    assert _paths(AnomalyPayload, {"series_id": "s", "timestamp": naive, "features": {"a": 1}}) == [
        "timestamp"
    ]
    window = [{"timestamp": naive, "features": {"a": 1.0}}]
    assert _paths(AnomalyPayload, {"series_id": "s", "window": window}) == ["window[0].timestamp"]


def test_anomaly_nested_extra_rejected() -> None:
    window = [{"timestamp": "2024-01-01T00:00:00Z", "features": {"a": 1.0}, "x": 1}]
    assert _paths(AnomalyPayload, {"series_id": "s", "window": window}) == ["window[0].x"]


# --- media ---------------------------------------------------------------------


def _media(**overrides: Any) -> dict[str, Any]:
    data = sample_payload("media")
    blob = overrides.pop("blob", {})
    data["blob"].update(blob)
    data.update(overrides)
    return data


def test_media_limits_accepted() -> None:
    p = MediaPayload.model_validate(
        _media(
            blob={"size": MAX_MEDIA_BYTES, "content_type": "video/mp4"}, content_type="video/mp4"
        )
    )
    assert p.blob.size == 50 * 1024 * 1024
    assert p.media_kind == "video"
    assert MediaPayload.model_validate(_media()).media_kind == "image"


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"blob": {"content_type": "application/pdf"}, "content_type": "application/pdf"}, None),
        ({"content_type": "text/plain"}, "content_type"),
        ({"content_type": "image/jpeg"}, "(root)"),
        ({"filename": ""}, "filename"),
    ],
)
def test_media_rejects(overrides: dict[str, Any], path: str | None) -> None:
    paths = _paths(MediaPayload, _media(**overrides))
    if path is None:
        assert sorted(paths) == ["blob.content_type", "content_type"]
    else:
        assert paths == [path]


@pytest.mark.parametrize(
    "overrides",
    [
        {"blob": {"size": MAX_MEDIA_BYTES + 1}},
        {"filename": "a/b.png"},
        {"filename": ".."},
    ],
)
def test_media_seed_rules_are_left_to_enrich(overrides: dict[str, Any]) -> None:
    # Size and file-name rules are the enrich stage's (inferstream/media_rules.py), which refuses
    # with the DeepDetect messages ("File too large", "Invalid filename"); the schema lets
    # them through so that the rejection says so.
    assert MediaPayload.model_validate(_media(**overrides)).filename


def test_media_blob_required() -> None:
    data = _media()
    del data["blob"]
    assert _paths(MediaPayload, data) == ["blob"]


# --- results -------------------------------------------------------------------


def _base() -> dict[str, Any]:
    return {
        "submission_id": SID,
        "schema_version": 1,
        "model_name": "m",
        "model_version": "1",
        "produced_at": NOW,
    }


def _bug_result(**overrides: Any) -> dict[str, Any]:
    data = {
        **_base(),
        "quality_score": 0.5,
        "low_quality": False,
        "duplicate_status": "unique",
        "content_sha256": "ab" * 32,
    }
    data.update(overrides)
    return data


def test_bug_result_duplicate_consistency() -> None:
    assert _paths(BugReportResult, _bug_result(duplicate_status="duplicate")) == ["(root)"]
    assert _paths(BugReportResult, _bug_result(duplicate_of=SID)) == ["(root)"]
    dup = BugReportResult.model_validate(
        _bug_result(duplicate_status="duplicate", duplicate_of=SID)
    )
    assert dup.duplicate_of == SID
    possible = BugReportResult.model_validate(_bug_result(duplicate_status="possible_duplicate"))
    assert possible.duplicate_of is None


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"quality_score": 1.5}, "quality_score"),
        ({"quality_flags": ["f"] * 33}, "quality_flags"),
        ({"similar": [{"submission_id": SID, "score": 0.9}] * 51}, "similar"),
        ({"similar": [{"submission_id": SID, "score": 1.1}]}, "similar[0].score"),
        ({"similar": [{"submission_id": SID, "score": 0.9, "x": 1}]}, "similar[0].x"),
        ({"embedding": [0.0] * 4097}, "embedding"),
        ({"embedding": [0.0, float("nan")]}, "embedding[1]"),
        ({"content_sha256": "xyz"}, "content_sha256"),
        ({"duplicate_status": "maybe"}, "duplicate_status"),
    ],
)
def test_bug_result_rejects(overrides: dict[str, Any], path: str) -> None:
    assert _paths(BugReportResult, _bug_result(**overrides)) == [path]


def test_bug_result_bounds_at_limit() -> None:
    r = BugReportResult.model_validate(
        _bug_result(embedding=[0.0] * 4096, quality_flags=["f"] * 32)
    )
    assert r.embedding is not None
    assert len(r.embedding) == 4096


def _risk_result(**overrides: Any) -> dict[str, Any]:
    data = {
        **_base(),
        "risk_score": 7.5,
        "risk_level": "high",
        "severity": {"label": "high", "probability": 0.8},
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"risk_score": 10.01}, "risk_score"),
        ({"risk_score": -0.1}, "risk_score"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"severity": {"label": "low", "probability": 2}}, "severity.probability"),
        ({"severity": {"label": "low", "probability": 0.5, "x": 1}}, "severity.x"),
        (
            {"vulnerabilities": [{"vulnerability_class": "xss", "probability": -0.1}]},
            "vulnerabilities[0].probability",
        ),
        ({"chains": [{"name": "", "probability": 0.1}]}, "chains[0].name"),
    ],
)
def test_target_risk_result_rejects(overrides: dict[str, Any], path: str) -> None:
    assert _paths(TargetRiskResult, _risk_result(**overrides)) == [path]


def test_target_risk_result_accepts_bounds() -> None:
    assert TargetRiskResult.model_validate(_risk_result(risk_score=10)).risk_score == 10.0
    assert TargetRiskResult.model_validate(_risk_result(risk_score=0)).risk_score == 0.0
