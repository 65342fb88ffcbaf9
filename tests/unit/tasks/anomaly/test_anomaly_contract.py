"""anomaly: schema, enrichment, windows keyed by stream position, robust z-score, verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from inferstream.plugins import Rejection
from inferstream.schemas import AnomalyPayload, build_envelope, sample_payload
from inferstream.tasks.anomaly.enrich import AnomalyEnrichment, enrich
from inferstream.tasks.anomaly.scoring import (
    FEATURE_NAMES,
    MIN_HISTORY_ROBUST,
    ROBUST_Z_THRESHOLD,
    decide,
    model_input,
    robust_z,
)
from inferstream.tasks.anomaly.state import SeriesWindows

SAMPLE = sample_payload("anomaly")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _enrich(payload: dict[str, Any]) -> AnomalyEnrichment | Rejection:
    return enrich(build_envelope("anomaly", payload))


def test_the_sample_observation_is_enriched_in_model_order() -> None:
    result = _enrich({**SAMPLE, "features": {**SAMPLE["features"], "disk_util": 0.1}})
    assert isinstance(result, AnomalyEnrichment)
    assert FEATURE_NAMES == ("cpu_util", "mem_util", "load_1m")
    assert result.values == [0.93, 0.41, 7.5]
    assert result.series_id == "host-42/cpu"
    assert result.observed_at == T0
    assert result.history is None
    assert result.ignored_features == ["disk_util"]


def test_a_missing_feature_rejects_naming_it() -> None:
    result = _enrich({**SAMPLE, "features": {"cpu_util": 0.5}})
    assert isinstance(result, Rejection)
    assert "mem_util, load_1m" in result.reason


def test_without_a_timestamp_the_envelope_time_is_the_observation_time() -> None:
    payload = {k: v for k, v in SAMPLE.items() if k != "timestamp"}
    envelope = build_envelope("anomaly", payload, produced_at=T0 + timedelta(hours=1))
    result = enrich(envelope)
    assert isinstance(result, AnomalyEnrichment)
    assert result.observed_at == T0 + timedelta(hours=1)


def test_a_window_scores_its_last_record_against_the_others_in_time_order() -> None:
    records = [
        {"timestamp": (T0 + timedelta(minutes=m)).isoformat(), "features": {
            "cpu_util": m / 10, "mem_util": 0.5, "load_1m": 1.0}}
        for m in (3, 1, 2, 0)
    ]  # fmt: skip
    result = _enrich({"series_id": "s", "window": records})
    assert isinstance(result, AnomalyEnrichment)
    assert result.values == [0.3, 0.5, 1.0]
    assert result.history == [[0.0, 0.5, 1.0], [0.1, 0.5, 1.0], [0.2, 0.5, 1.0]]
    assert result.observed_at == T0 + timedelta(minutes=3)


def test_the_schema_wants_exactly_one_of_features_or_window() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        AnomalyPayload.model_validate({"series_id": "s"})
    with pytest.raises(ValidationError):
        AnomalyPayload.model_validate({**SAMPLE, "features": {"cpu_util": float("inf")}})


positions = st.lists(st.integers(0, 200), unique=True, min_size=1, max_size=60)


@given(positions, st.randoms(use_true_random=False), st.integers(0, 210))
def test_windows_do_not_depend_on_arrival_order_or_repeats(
    offsets: list[int], rng: Any, query: int
) -> None:
    """Rebuilding from results in any order, with duplicates, gives the same windows."""
    in_order, shuffled = SeriesWindows(8), SeriesWindows(8)
    for o in sorted(offsets):
        in_order.add("s", (0, o), [float(o)])
    again = offsets + offsets[: len(offsets) // 2]
    rng.shuffle(again)
    for o in again:
        shuffled.add("s", (0, o), [float(o)])
    expected = [(float(o),) for o in sorted(offsets) if o < query][-8:]
    assert in_order.before("s", (0, query)) == expected
    assert shuffled.before("s", (0, query)) == expected
    assert shuffled.before("other", (0, query)) == []


def test_windows_keep_a_bounded_tail() -> None:
    windows = SeriesWindows(4, keep=10)
    for o in range(100):
        windows.add("s", (0, o), [float(o)])
    assert len(windows) == 10
    assert windows.before("s", (0, 100)) == [(96.0,), (97.0,), (98.0,), (99.0,)]


def test_rolling_deviation_and_robust_z() -> None:
    history = [[1.0, 10.0, 0.0], [3.0, 10.0, 0.0]] * 5
    row = model_input([2.0, 10.0, 0.0], history[:1])
    assert row[3:] == [0.0, 0.0, 0.0]  # one observation: no deviation yet
    row = model_input([5.0, 10.0, 0.0], history)
    assert row[:3] == [5.0, 10.0, 0.0]
    assert row[3] == pytest.approx(3.0)  # (5 - mean 2) / std 1
    assert len(history) >= MIN_HISTORY_ROBUST
    z = robust_z([5.0, 10.0, 0.0], history)
    assert z[0] == pytest.approx(0.6745 * 3.0 / 1.0)
    assert z[1] == 0.0
    assert np.all(robust_z([5.0, 10.0, 0.0], history[:3]) == 0.0)


def test_the_reported_detector_is_the_one_furthest_past_its_threshold() -> None:
    quiet = decide(0.40, 0.55, np.asarray([0.5, -1.0, 0.2]))
    assert (quiet.detector, quiet.is_anomaly) == ("isolation_forest", False)
    assert quiet.contributions[0] == ("mem_util", -1.0)
    spike = decide(0.50, 0.55, np.asarray([ROBUST_Z_THRESHOLD * 3, 0.0, 0.0]))
    assert (spike.detector, spike.is_anomaly) == ("robust_zscore", True)
    assert spike.score > spike.threshold
    forest = decide(0.70, 0.55, np.asarray([1.0, 0.0, 0.0]))
    assert (forest.detector, forest.is_anomaly) == ("isolation_forest", True)
