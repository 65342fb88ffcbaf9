"""The monitor's consumer logic: what one batch of its three topics writes (its own Postgres
state and catalog replaced by in-memory stand-ins; the real ones are integration-tested)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from inferstream.monitor.driver import MonitorLogic
from inferstream.monitor.psi import Distribution
from inferstream.monitor.reference import Reference
from inferstream.monitor.spec import spec_for
from inferstream.monitor.state import Delta
from inferstream.settings.monitor import MonitorSettings
from inferstream.workers.runtime.records import Emit, InRecord

HALVES = Distribution((0.5,), (0.5, 0.5))
REF = Reference(HALVES, {"x": HALVES, "y": HALVES}, 10)
NOW = datetime(2026, 12, 6, 16, 0, 30, tzinfo=UTC)


class _State:
    def __init__(self) -> None:
        self.written: list[Delta] = []

    def write(self, delta: Delta) -> None:
        self.written.append(delta)


class _Catalog:
    def __init__(self) -> None:
        self.production_reads = 0

    def reference(self, name: str, version: str) -> Reference | None:
        return REF if version == "v1" else None

    def production(self, name: str) -> str:
        self.production_reads += 1
        return "v1"


def _record(topic: str, offset: int, body: Any, partition: int = 0) -> InRecord:
    headers = (("x-submitted-at", b"2026-12-06T16:00:30+00:00"),)
    return InRecord(topic, partition, offset, b"k", orjson.dumps(body), headers, 1_765_036_830_000)


def test_a_batch_counts_results_inputs_and_labels_with_its_offsets() -> None:
    state, catalog = _State(), _Catalog()
    logic = MonitorLogic(spec_for("churn"), state, catalog, MonitorSettings(), lambda: NOW)  # type: ignore[arg-type]
    result = {
        "model_name": "churn-logreg",
        "model_version": "v1",
        "probability": 0.9,
        "produced_at": "2026-12-06T16:00:30.150+00:00",
    }
    batch = [
        _record("results.churn", 10, result),
        _record("results.churn", 11, {**result, "model_version": "v9"}),  # no reference
        _record("results.churn", 12, {"model_name": "churn-logreg"}),  # unusable: skipped
        _record("enriched.churn", 3, {"enrichment": {"features": [0.1, 0.9]}}, partition=1),
        _record("feedback.churn", 0, {"submission_id": "s1", "label": True}),
    ]
    assert logic.process(batch, None) == [Emit()] * len(batch)
    (delta,) = state.written
    assert delta.offsets == {
        ("results.churn", 0): 13,
        ("enriched.churn", 1): 4,
        ("feedback.churn", 0): 1,
    }
    kinds = sorted((k.model_version, k.kind, k.feature, k.bin) for k in delta.counts)
    assert kinds == [
        ("v1", "input", "x", 0),
        ("v1", "input", "y", 1),
        ("v1", "latency", "", 5),  # 150 ms: the (100, 150] bucket
        ("v1", "score", "", 1),
        ("v9", "latency", "", 5),
    ]
    assert set(delta.feedback) == {"s1"} and logic.skipped == 1
    assert logic.input_topics == ["results.churn", "enriched.churn", "feedback.churn", "deadletter"]
    # production's version is read once per evaluation period, not per record
    logic.process([_record("enriched.churn", 4, {"enrichment": {"features": [1, 1]}}, 1)], None)
    assert catalog.production_reads == 1


def _dead(offset: int, origin: str, model: tuple[str, str] | None) -> InRecord:
    headers = [("x-error-stage", b"infer"), ("x-original-topic", origin.encode())]
    if model is not None:
        headers += [
            ("x-error-model", model[0].encode()),
            ("x-error-model-version", model[1].encode()),
        ]
    return InRecord("deadletter", 0, offset, b"k", b"{}", tuple(headers), 1_765_036_830_000)


def test_only_this_tasks_failed_inferences_count_as_errors_of_their_version() -> None:
    state = _State()
    logic = MonitorLogic(spec_for("churn"), state, _Catalog(), MonitorSettings(), lambda: NOW)  # type: ignore[arg-type]
    batch = [
        _dead(0, "enriched.churn", ("churn-logreg", "v2")),
        _dead(1, "enriched.churn", ("churn-logreg", "v2")),
        _dead(2, "enriched.churn", None),  # undecodable: no model failed
        _dead(3, "enriched.anomaly", ("anomaly-iforest", "v2")),  # another task's
        _dead(4, "submissions.churn", None),  # rejected at enrich
    ]
    assert logic.process(batch, None) == [Emit()] * len(batch)
    (delta,) = state.written
    errors = {(k.model_name, k.model_version, k.kind): n for k, n in delta.counts.items()}
    assert errors == {("churn-logreg", "v2", "error"): 2}
    assert delta.offsets == {("deadletter", 0): 5} and logic.skipped == 0
