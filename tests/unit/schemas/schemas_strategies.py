"""Hypothesis strategies for valid wire models (shared by the schema tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from ulid import ULID

from inferstream.schemas import (
    AnomalyPayload,
    AnomalyResult,
    AttackChain,
    BugReportPayload,
    BugReportResult,
    ChurnPayload,
    ChurnResult,
    FeatureContribution,
    FramePrediction,
    MediaBlobRef,
    MediaPayload,
    MediaResult,
    SeverityPrediction,
    SimilarReport,
    TargetRiskPayload,
    TargetRiskResult,
    TopKLabel,
    VulnerabilityPrediction,
    WindowRecord,
    encode_embeddings_b64,
)

_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_LEVELS = ["low", "medium", "high", "critical"]


def text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(alphabet=_CHARS, min_size=min_size, max_size=max_size)


def finite(**kw: Any) -> st.SearchStrategy[float]:
    return st.floats(allow_nan=False, allow_infinity=False, **kw)


probability = finite(min_value=0.0, max_value=1.0)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)

submission_ids = st.one_of(
    st.uuids().map(str),
    st.binary(min_size=16, max_size=16).map(lambda b: str(ULID.from_bytes(b))),
)

aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    ),
)

_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hostnames = st.lists(_label, min_size=2, max_size=4).map(".".join)

# --- payloads ---------------------------------------------------------------

bug_report_payloads = st.builds(
    BugReportPayload,
    title=text(1, 300),
    description=text(1),
    steps_to_reproduce=text(),
    logs=text(),
    product=text(1, 100),
    component=text(0, 100),
    reporter=text(0, 200),
)

target_risk_payloads = st.builds(
    TargetRiskPayload,
    domain=hostnames,
    technology_stack=st.lists(text(1, 64), max_size=50),
    has_api=st.booleans(),
    description=text(),
)


@st.composite
def media_payloads(draw: st.DrawFn) -> MediaPayload:
    content_type = draw(st.sampled_from(["image/png", "image/jpeg", "video/mp4", "video/webm"]))
    key = draw(st.from_regex(r"[A-Za-z0-9_-]{1,20}(/[A-Za-z0-9._-]{1,20}){0,3}", fullmatch=True))
    blob = MediaBlobRef(
        uri=f"s3://inferstream-media/{key}",
        sha256=draw(hex64),
        size=draw(st.integers(0, 50 * 1024 * 1024)),
        content_type=content_type,
    )
    filename = draw(text(1, 255).filter(lambda s: "/" not in s and "\\" not in s))
    return MediaPayload(
        blob=blob,
        filename=filename if filename not in (".", "..") else "f",
        content_type=content_type,
    )


_feature_names = text(1, 64)
_feature_maps = st.dictionaries(_feature_names, finite(), min_size=1, max_size=8)


@st.composite
def anomaly_payloads(draw: st.DrawFn) -> AnomalyPayload:
    series_id = draw(text(1, 128))
    timestamp = draw(st.none() | aware_datetimes)
    if draw(st.booleans()):
        return AnomalyPayload(
            series_id=series_id, timestamp=timestamp, features=draw(_feature_maps)
        )
    keys = draw(st.lists(_feature_names, min_size=1, max_size=5, unique=True))
    records = draw(
        st.lists(
            st.builds(
                WindowRecord,
                timestamp=aware_datetimes,
                features=st.fixed_dictionaries({k: finite() for k in keys}),
            ),
            min_size=1,
            max_size=10,
        )
    )
    return AnomalyPayload(series_id=series_id, timestamp=timestamp, window=records)


churn_payloads = st.builds(
    ChurnPayload,
    customer_id=text(1, 128),
    tenure_months=st.integers(0, 1200),
    monthly_charges=finite(min_value=0.0, max_value=1e6),
    total_charges=finite(min_value=0.0, max_value=1e9),
    contract=st.sampled_from(["month-to-month", "one_year", "two_year"]),
    payment_method=st.sampled_from(
        ["electronic_check", "mailed_check", "bank_transfer", "credit_card"]
    ),
    internet_service=st.sampled_from(["dsl", "fiber_optic", "none"]),
    senior_citizen=st.booleans(),
    has_partner=st.booleans(),
    has_dependents=st.booleans(),
    paperless_billing=st.booleans(),
    num_support_tickets=st.integers(0, 10_000),
)

PAYLOADS: dict[str, st.SearchStrategy[Any]] = {
    "bug_report": bug_report_payloads,
    "target_risk": target_risk_payloads,
    "media": media_payloads(),
    "anomaly": anomaly_payloads(),
    "churn": churn_payloads,
}

# --- results ----------------------------------------------------------------


@st.composite
def result_base(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "submission_id": draw(submission_ids),
        "schema_version": draw(st.integers(1, 5)),
        "model_name": draw(text(1, 128)),
        "model_version": draw(text(1, 64)),
        "produced_at": draw(aware_datetimes),
    }


_contribs = st.lists(st.builds(FeatureContribution, name=text(1, 64), contribution=finite()))


@st.composite
def bug_report_results(draw: st.DrawFn) -> BugReportResult:
    status = draw(st.sampled_from(["unique", "possible_duplicate", "duplicate"]))
    dup_of = {
        "unique": st.none(),
        "possible_duplicate": st.none() | submission_ids,
        "duplicate": submission_ids,
    }[status]
    # Version 1 carries the embedding as floats, version 2 as base64 of float32 bytes.
    version = draw(st.sampled_from([1, 2]))
    floats = draw(st.none() | st.lists(finite(width=32), max_size=64))
    embedding: dict[str, Any] = (
        {"embedding": floats}
        if version == 1
        else {"embedding_b64": None if floats is None else encode_embeddings_b64([floats])[0]}
    )
    return BugReportResult(
        **{**draw(result_base()), "schema_version": version},
        quality_score=draw(probability),
        quality_flags=draw(st.lists(text(1, 64), max_size=32)),
        low_quality=draw(st.booleans()),
        duplicate_status=status,
        duplicate_of=draw(dup_of),
        similar=draw(
            st.lists(
                st.builds(
                    SimilarReport,
                    submission_id=submission_ids,
                    score=finite(min_value=-1.0, max_value=1.0),
                ),
                max_size=50,
            )
        ),
        content_sha256=draw(hex64),
        **embedding,
    )


@st.composite
def target_risk_results(draw: st.DrawFn) -> TargetRiskResult:
    return TargetRiskResult(
        **draw(result_base()),
        risk_score=draw(finite(min_value=0.0, max_value=10.0)),
        risk_level=draw(st.sampled_from(_LEVELS)),
        vulnerabilities=draw(
            st.lists(
                st.builds(
                    VulnerabilityPrediction,
                    vulnerability_class=text(1, 64),
                    probability=probability,
                ),
                max_size=10,
            )
        ),
        severity=draw(
            st.builds(SeverityPrediction, label=st.sampled_from(_LEVELS), probability=probability)
        ),
        chains=draw(
            st.lists(st.builds(AttackChain, name=text(1, 128), probability=probability), max_size=5)
        ),
    )


@st.composite
def media_results(draw: st.DrawFn) -> MediaResult:
    return MediaResult(
        **draw(result_base()),
        media_kind=draw(st.sampled_from(["image", "video"])),
        label=draw(text(1, 128)),
        confidence=draw(probability),
        fake_probability=draw(probability),
        content_sha256=draw(hex64),
        top_k=draw(
            st.lists(st.builds(TopKLabel, label=text(1, 128), confidence=probability), max_size=5)
        ),
        frames=draw(
            st.lists(
                st.builds(
                    FramePrediction,
                    index=st.integers(0, 100_000),
                    timestamp_s=finite(min_value=0.0, max_value=1e6),
                    label=text(1, 128),
                    confidence=probability,
                ),
                max_size=10,
            )
        ),
    )


@st.composite
def anomaly_results(draw: st.DrawFn) -> AnomalyResult:
    return AnomalyResult(
        **draw(result_base()),
        series_id=draw(text(1, 128)),
        observed_at=draw(aware_datetimes),
        features=draw(_feature_maps),
        input_partition=draw(st.integers(0, 1_000)),
        input_offset=draw(st.integers(0, 2**62)),
        score=draw(finite()),
        threshold=draw(finite()),
        is_anomaly=draw(st.booleans()),
        detector=draw(text(1, 64)),
        contributing_features=draw(_contribs),
    )


@st.composite
def churn_results(draw: st.DrawFn) -> ChurnResult:
    return ChurnResult(
        **draw(result_base()),
        probability=draw(probability),
        label=draw(st.booleans()),
        threshold=draw(probability),
        top_features=draw(_contribs),
    )


RESULTS: dict[str, st.SearchStrategy[Any]] = {
    "bug_report": bug_report_results(),
    "target_risk": target_risk_results(),
    "media": media_results(),
    "anomaly": anomaly_results(),
    "churn": churn_results(),
}
