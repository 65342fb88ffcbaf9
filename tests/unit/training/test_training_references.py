"""Every monitored task's training writes the PSI reference the monitor reads from the bundle."""

from __future__ import annotations

import math
from pathlib import Path

from inferstream.models.tabular import load_tabular_bundle
from inferstream.monitor.reference import from_metadata
from inferstream.tasks.anomaly.inferer import BUNDLE_NAME as ANOMALY_BUNDLE
from inferstream.tasks.anomaly.scoring import FEATURE_NAMES as ANOMALY_INPUTS
from inferstream.tasks.target_risk.features import FEATURE_NAMES as TARGET_RISK_INPUTS
from inferstream.tasks.target_risk.risk import BUNDLE_NAME as TARGET_RISK_BUNDLE
from inferstream.training import anomaly, target_risk


def _check(models_dir: Path, name: str, task: str, inputs: tuple[str, ...]) -> None:
    bundle = load_tabular_bundle(models_dir, name, task)
    ref = from_metadata(bundle.metadata)
    assert ref is not None
    assert tuple(ref.inputs) == tuple(inputs)  # the enrichment's vector order
    assert ref.rows > 0
    for dist in (ref.score, *ref.inputs.values()):
        assert math.isclose(sum(dist.fractions), 1.0, abs_tol=1e-6)


def test_anomaly_training_writes_a_reference(tmp_path: Path) -> None:
    anomaly.train(tmp_path, series_count=10, length=150, trees=20)
    _check(tmp_path, ANOMALY_BUNDLE, "anomaly", ANOMALY_INPUTS)


def test_target_risk_training_writes_a_reference_of_risk_scores(tmp_path: Path) -> None:
    target_risk.train(tmp_path, rows=3000)
    _check(tmp_path, TARGET_RISK_BUNDLE, "target_risk", TARGET_RISK_INPUTS)
    ref = from_metadata(load_tabular_bundle(tmp_path, TARGET_RISK_BUNDLE, "").metadata)
    assert ref is not None and all(0.0 <= e <= 10.0 for e in ref.score.edges)  # risk_score
