"""The synthetic training sets: reproducible from their seed, labelled one-to-one, and valid
submissions of their task (what the models are trained on is what the pipeline accepts)."""

from __future__ import annotations

from inferstream.schemas import build_envelope
from inferstream.training.datasets import churn_records, metric_series, target_records


def test_churn_records_are_reproducible_and_valid_submissions() -> None:
    records, labels = churn_records(40, seed=7)
    assert (records, labels) == churn_records(40, seed=7)
    assert records != churn_records(40, seed=8)[0]
    assert len(labels) == len(records) and set(labels) <= {0, 1} and len(set(labels)) == 2
    for record in records:
        build_envelope("churn", record)  # raises on a payload the API would refuse


def test_target_records_are_reproducible_and_valid_submissions() -> None:
    records, labels = target_records(30, seed=5)
    assert records == target_records(30, seed=5)[0]
    assert len(labels) == len(records)
    for record in records:
        build_envelope("target_risk", record)


def test_metric_series_interleave_in_time_with_a_few_anomalies() -> None:
    observations = list(metric_series(series=3, length=400, seed=1, anomaly_rate=0.05))
    assert len(observations) == 1200
    times = [o.timestamp for o in observations]
    assert times == sorted(times)
    assert {o.series_id for o in observations[:3]} == {f"host-{s:03d}/metrics" for s in range(3)}
    anomalous = sum(o.anomalous for o in observations)
    assert 0 < anomalous < 0.15 * len(observations)
    assert all(0.0 <= o.features["cpu_util"] <= 1.0 for o in observations)  # a utilisation
