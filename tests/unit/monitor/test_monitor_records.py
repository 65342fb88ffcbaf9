"""Counting the monitor's inputs: results, enriched feature vectors and feedback labels."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from inferstream.monitor.psi import Distribution, latency_bucket
from inferstream.monitor.records import (
    Unusable,
    add_feedback,
    add_inputs,
    add_result,
    bucket,
    result_model,
)
from inferstream.monitor.reference import Reference
from inferstream.monitor.spec import spec_for
from inferstream.monitor.state import CountKey, Delta

CHURN = spec_for("churn")
REF = Reference(
    Distribution((0.5,), (0.5, 0.5)),
    {"a": Distribution((1.0,), (0.5, 0.5)), "b": Distribution((0.0, 1.0), (0, 0.5, 0.5))},
    10,
)
AT = datetime(2026, 12, 6, 15, 0, 30, tzinfo=UTC)


def _result(probability: object, **extra: object) -> bytes:
    body = {
        "model_name": "churn-logreg",
        "model_version": "v1",
        "probability": probability,
        "produced_at": "2026-12-06T15:00:30.250000+00:00",
        **extra,
    }
    return orjson.dumps(body)


def test_a_result_counts_its_score_bin_and_latency_in_its_minute() -> None:
    delta = Delta()
    parsed = result_model(_result(0.8), CHURN)
    add_result(delta, parsed, REF, "2026-12-06T15:00:30.100000+00:00", 60)
    minute = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    assert delta.counts == {
        CountKey("churn-logreg", "v1", "score", "", minute, 1): 1,
        CountKey("churn-logreg", "v1", "latency", "", minute, latency_bucket(150)): 1,
    }
    # without a reference only the latency is counted
    other = Delta()
    add_result(other, parsed, None, None, 60)
    assert other.counts == {}


@pytest.mark.parametrize(
    "value",
    [b"not json", b"[1]", _result("high"), _result(True), _result(0.5, model_version=None)],
)
def test_unusable_results_are_refused(value: bytes) -> None:
    with pytest.raises(Unusable):
        result_model(value, CHURN)


def test_inputs_are_binned_on_the_reference_in_vector_order() -> None:
    delta = Delta()
    enriched = orjson.dumps({"enrichment": {"features": [3.0, 0.0]}})
    add_inputs(delta, enriched, AT, ("churn-logreg", "v1"), REF, 60)
    minute = bucket(AT, 60)
    assert delta.counts == {
        CountKey("churn-logreg", "v1", "input", "a", minute, 1): 1,
        CountKey("churn-logreg", "v1", "input", "b", minute, 1): 1,
    }
    with pytest.raises(Unusable, match="length"):
        add_inputs(
            delta, orjson.dumps({"enrichment": {"features": [1.0]}}), AT, ("m", "v"), REF, 60
        )


def test_inputs_come_from_the_tasks_own_enrichment_field() -> None:
    # anomaly's enrichment holds its input vector as "values", not "features"
    delta = Delta()
    enriched = orjson.dumps({"enrichment": {"values": [3.0, 0.0], "features": [0.0]}})
    add_inputs(delta, enriched, AT, ("anomaly-iforest", "v1"), REF, 60, "values")
    assert sum(delta.counts.values()) == 2


def test_feedback_keeps_the_last_label_as_postgres_prints_it() -> None:
    delta = Delta()
    add_feedback(delta, orjson.dumps({"submission_id": "s1", "label": True}), AT)
    add_feedback(delta, orjson.dumps({"submission_id": "s2", "label": "high"}), AT)
    add_feedback(delta, orjson.dumps({"submission_id": "s1", "label": False}), AT)
    assert delta.feedback == {"s1": ("false", AT), "s2": ("high", AT)}
    with pytest.raises(Unusable):
        add_feedback(delta, orjson.dumps({"submission_id": "s3"}), AT)
