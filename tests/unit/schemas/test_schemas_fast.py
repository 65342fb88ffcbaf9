"""The trusted fast codec equals the validated pydantic path on generated valid messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemas_strategies import PAYLOADS, RESULTS, aware_datetimes, finite, submission_ids, text

from inferstream.plugins import EnrichedMessage, Rejection, installed_plugins, load_plugin
from inferstream.schemas import (
    TASKS,
    AnomalyPayload,
    DecodeError,
    TargetRiskPayload,
    WindowRecord,
    build_envelope,
    encode,
    get_task,
)
from inferstream.schemas.fast import construct, decode_trusted, encode_fast, encode_many
from inferstream.tasks.anomaly.scoring import FEATURE_NAMES as ANOMALY_FEATURES
from inferstream.workers.enrich.driver import encode_enriched
from inferstream.workers.infer.driver import decode_enriched

_FEATURES = st.fixed_dictionaries(
    {name: finite() for name in ANOMALY_FEATURES}, optional={"extra_metric": finite()}
)
_SAME_NAMES = st.fixed_dictionaries({name: finite() for name in ANOMALY_FEATURES})
# Enrich rejects anomaly payloads without the model's features: generate ones it accepts.
_ANOMALY = st.one_of(
    st.builds(AnomalyPayload, series_id=text(1, 128), features=_FEATURES),
    st.builds(
        AnomalyPayload,
        series_id=text(1, 128),
        window=st.lists(
            st.builds(WindowRecord, timestamp=aware_datetimes, features=_SAME_NAMES),
            min_size=1,
            max_size=5,
        ),
    ),
)
# ... and target_risk domains under special-use names (.test, .local, ...): public ones here.
_TARGET_RISK = st.builds(
    TargetRiskPayload,
    domain=st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True).map(
        lambda label: f"{label}.example.com"
    ),
    technology_stack=st.lists(text(1, 64), max_size=20),
    has_api=st.booleans(),
    description=text(),
)
ENRICHABLE = {**PAYLOADS, "anomaly": _ANOMALY, "target_risk": _TARGET_RISK}
_SLOW = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@pytest.mark.parametrize("task", sorted(TASKS))
@_SLOW
@given(data=st.data())
def test_fast_encoded_result_is_valid_and_decodes_to_the_same(task: str, data: Any) -> None:
    result = data.draw(RESULTS[task])
    model = get_task(task).result_model
    fast = encode_fast(result)
    # The wire bytes pass the pydantic model (the JSON Schema's twin) and mean the same.
    assert model.model_validate_json(fast) == result
    assert orjson.loads(fast) == orjson.loads(encode(result))
    assert decode_trusted(model, fast) == result
    assert encode_many([result, result]) == [fast, fast]


@pytest.mark.parametrize("task", sorted(TASKS))
@_SLOW
@given(data=st.data(), sid=submission_ids, at=aware_datetimes)
def test_constructed_envelope_equals_validated(
    task: str, data: Any, sid: str, at: datetime
) -> None:
    envelope = build_envelope(task, data.draw(PAYLOADS[task]), submission_id=sid, produced_at=at)
    model = get_task(task).envelope_model
    assert construct(model, orjson.loads(encode_fast(envelope))) == envelope


# media's enrich reads each blob from object storage (no server here): its enriched records are
# decoded the same way in tests/integration/test_media_enrich.py.
@pytest.mark.parametrize("task", [t for t in installed_plugins() if t != "media"])
@_SLOW
@given(data=st.data(), sid=submission_ids, at=aware_datetimes)
def test_fast_decode_of_enriched_equals_validated(
    task: str, data: Any, sid: str, at: datetime
) -> None:
    plugin = load_plugin(task)
    payload = data.draw(ENRICHABLE[task])
    envelope = build_envelope(task, payload, submission_id=sid, produced_at=at)
    (enrichment,) = plugin.enrich([envelope])
    assume(not isinstance(enrichment, Rejection))
    assert not isinstance(enrichment, Rejection)
    value = encode_enriched(envelope, enrichment)
    # What infer did before: three validations.
    message = EnrichedMessage.model_validate(orjson.loads(value))
    validated_env = get_task(task).envelope_model.model_validate(message.envelope)
    validated_enr = plugin.enrichment_model.model_validate(message.enrichment)
    item = decode_enriched(value, get_task(task).envelope_model, plugin.enrichment_model)
    assert item.envelope == validated_env == envelope
    assert item.enrichment == validated_enr
    assert type(item.enrichment) is plugin.enrichment_model


def test_enriched_value_keeps_the_enriched_message_shape() -> None:
    task = "churn"
    plugin = load_plugin(task)
    envelope = build_envelope(task, PAYLOADS_SAMPLE, submission_id="01J00000000000000000000000")
    (enrichment,) = plugin.enrich([envelope])
    assert not isinstance(enrichment, Rejection)
    message = EnrichedMessage.model_validate_json(encode_enriched(envelope, enrichment))
    assert message.enriched_at.tzinfo is not None
    assert message.envelope == envelope.model_dump(mode="json")


PAYLOADS_SAMPLE: dict[str, Any] = {
    "customer_id": "c1",
    "tenure_months": 3,
    "monthly_charges": 10.0,
    "total_charges": 30.0,
    "contract": "one_year",
    "payment_method": "credit_card",
    "internet_service": "dsl",
    "senior_citizen": False,
    "has_partner": True,
    "has_dependents": False,
    "paperless_billing": True,
}


def _result_dict() -> dict[str, Any]:
    return {
        "submission_id": "01J00000000000000000000000",
        "task": "churn",
        "schema_version": 1,
        "model_name": "m",
        "model_version": "1",
        "produced_at": datetime(2024, 1, 1, tzinfo=UTC).isoformat(),
        "result_id": "0" * 64,
        "probability": 1,
        "label": True,
        "threshold": 0.5,
        "top_features": [{"name": "a", "contribution": 0.1}],
    }


def test_construct_converts_what_json_cannot_carry() -> None:
    model = get_task("churn").result_model
    result = construct(model, _result_dict())
    assert result.produced_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert isinstance(result.probability, float)  # type: ignore[attr-defined]
    assert type(result.top_features[0]).__name__ == "FeatureContribution"  # type: ignore[attr-defined]
    # A float as it is; a numpy scalar (a float subclass) and an int as a plain float.
    for value in (0.25, np.float64(0.25), np.float32(0.25)):
        built = construct(model, {**_result_dict(), "probability": value})
        assert type(built.probability) is float and built.probability == 0.25  # type: ignore[attr-defined]


@pytest.mark.parametrize("omitted", [(), ("source",), ("tenant", "blob"), ("source", "blob")])
def test_construct_fills_the_defaults_of_omitted_fields_as_validation_does(
    omitted: tuple[str, ...],
) -> None:
    """Every field given (what the stages write) or optional ones left out: the same model,
    the same fields set, as validation builds."""
    model = get_task("bug_report").envelope_model
    data = {
        "submission_id": "01J0000000000000000000000A",
        "task": "bug_report",
        "schema_version": 1,
        "produced_at": "2024-01-01T00:00:00Z",
        "source": "sdk",
        "tenant": "default",
        "payload": {"title": "t", "description": "d", "product": "p"},
        "blob": None,
    }
    for name in omitted:
        del data[name]
    built, validated = construct(model, dict(data)), model.model_validate(data)
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    if not omitted:  # given in declaration order, as the stages write them
        assert list(built.__dict__) == list(validated.__dict__)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("model_name"), "missing"),
        (lambda d: d.update(extra=1), "unknown"),
        (lambda d: d.update(produced_at=5), "produced_at"),
        (lambda d: d.update(produced_at="yesterday"), "produced_at"),
        (lambda d: d.update(probability="high"), "probability"),
        (lambda d: d.update(probability=True), "probability"),
        (lambda d: d.update(probability=None), "probability"),
        (lambda d: d.update(top_features=[{"name": "a"}]), "missing"),
        (lambda d: d.update(top_features={"a": 1}), "top_features"),
    ],
)
def test_structural_errors_are_decode_errors(change: Any, message: str) -> None:
    data = _result_dict()
    change(data)
    with pytest.raises(DecodeError, match=message):
        decode_trusted(get_task("churn").result_model, orjson.dumps(data))


@pytest.mark.parametrize("value", [b"", b"{", b"[]", b"1", b'{"envelope": {}}'])
def test_undecodable_enriched_bytes_raise_decode_error(value: bytes) -> None:
    plugin = load_plugin("churn")
    with pytest.raises(DecodeError):
        decode_enriched(value, get_task("churn").envelope_model, plugin.enrichment_model)
