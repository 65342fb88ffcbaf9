"""target_risk and anomaly serve the registry's versions like churn (one serving path,
inferstream.models.registry.serving), on the session's real Postgres and object store: the
production alias at start, then a canary promoted while the inferer runs, taken between two
batches (the watcher's LISTEN/NOTIFY or its poll), each key served by the version its hash
selects. The inferers run in this process (no worker start-up); their aliases are removed
before and after, so the session's pipeline tests serve their local bundles."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _stack import Stack

from inferstream.models import registry
from inferstream.models.registry.routing import is_canary
from inferstream.models.tabular import load_tabular_bundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields
from inferstream.schemas import build_envelope, sample_payload
from inferstream.tasks.anomaly import enrich as anomaly_enrich
from inferstream.tasks.anomaly.inferer import BUNDLE_NAME as ANOMALY
from inferstream.tasks.anomaly.inferer import AnomalyInferer, AnomalyModel, Scorer
from inferstream.tasks.target_risk import enrich as target_enrich
from inferstream.tasks.target_risk.inferer import TargetRiskInferer
from inferstream.tasks.target_risk.risk import BUNDLE_NAME as TARGET_RISK
from inferstream.training import anomaly, target_risk
from inferstream.training.datasets import metric_series

FRACTION = 0.5


def _clear(stack: Stack, name: str) -> None:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        conn.execute("DELETE FROM model_aliases WHERE name = %s", (name,))


@pytest.fixture
def aliases(stack: Stack) -> Iterator[None]:
    for name in (TARGET_RISK, ANOMALY):
        _clear(stack, name)
    try:
        yield
    finally:
        for name in (TARGET_RISK, ANOMALY):
            _clear(stack, name)


def _register(directory: Path, name: str, task: str) -> str:
    bundle = load_tabular_bundle(directory, name, task)
    registry.register(bundle.directory)
    return bundle.version


def _until_canary(take: Callable[[], Any], version: str, deadline_s: float = 180) -> None:
    """Batches go on being served until one is served with the canary (the watcher loads it
    beside production and hands it over between batches)."""
    deadline = time.monotonic() + deadline_s
    while (served := take()).canary is None or served.canary[0] != version:
        assert time.monotonic() < deadline, "the canary was never taken"
        time.sleep(0.2)


def _versions_follow_the_key_hash(results: Sequence[ResultFields], v1: str, v2: str) -> None:
    versions = {str(r["model_version"]) for r in results}
    assert versions == {v1, v2}  # 40 keys at 50 %: both sides (fails with p = 2e-12)
    for r in results:
        expected = v2 if is_canary(str(r["submission_id"]), FRACTION) else v1
        assert r["model_version"] == expected


def test_target_risk_serves_production_then_a_canary_share(
    stack: Stack, aliases: None, tmp_path: Path
) -> None:
    v1 = _register(_trained(tmp_path / "a", lambda d: target_risk.train(d, 3000, seed=5)),
                   TARGET_RISK, "target_risk")  # fmt: skip
    v2 = _register(_trained(tmp_path / "b", lambda d: target_risk.train(d, 3000, seed=6)),
                   TARGET_RISK, "target_risk")  # fmt: skip
    registry.promote(TARGET_RISK, v1, "production", reason="serving test")
    items = []
    for _ in range(40):
        envelope = build_envelope("target_risk", sample_payload("target_risk"))
        enrichment = target_enrich.enrich(envelope)
        assert isinstance(enrichment, target_enrich.TargetRiskEnrichment)
        items.append(EnrichedItem(envelope, enrichment))
    inferer = TargetRiskInferer(InferContext(tmp_path / "cache", stack.postgres, 64, 64))
    try:
        first = inferer.run(items, inferer.prepare(items))
        assert {r["model_version"] for r in first} == {v1} and inferer.model_version == v1
        registry.promote(TARGET_RISK, v2, "canary", reason="serving test", fraction=FRACTION)
        _until_canary(inferer.serving.take, v2)
        _versions_follow_the_key_hash(inferer.run(items, inferer.prepare(items)), v1, v2)
        assert inferer.ready()[1].startswith(f"{TARGET_RISK} production {v1}, canary {v2}")
    finally:
        inferer.serving.live.stop()


def test_anomaly_canary_keeps_production_scores_and_the_windows(
    stack: Stack, aliases: None, tmp_path: Path
) -> None:
    train = anomaly.train
    d1 = _trained(tmp_path / "a", lambda d: train(d, seed=3, series_count=10, length=150, trees=20))
    d2 = _trained(tmp_path / "b", lambda d: train(d, seed=4, series_count=10, length=150, trees=20))
    v1, v2 = _register(d1, ANOMALY, "anomaly"), _register(d2, ANOMALY, "anomaly")
    registry.promote(ANOMALY, v1, "production", reason="serving test")
    registry.promote(ANOMALY, v2, "canary", reason="serving test", fraction=FRACTION)
    items = _anomaly_items(40)
    inferer = AnomalyInferer(InferContext(tmp_path / "cache", stack.postgres, 64, 64))
    try:
        served = inferer.run(items, None)
    finally:
        inferer.serving.live.stop()
    _versions_follow_the_key_hash(served, v1, v2)
    # The windows are the worker's, not a version's: production's rows score exactly as a v1
    # scorer over every record in stream order (the canary's share included) scores them.
    reference = Scorer(AnomalyModel(load_tabular_bundle(d1, ANOMALY, "anomaly")))
    verdicts = reference.score(
        [(i.enrichment.series_id, (0, n), i.enrichment.values, None) for n, i in enumerate(items)]
    )
    for result, verdict in zip(served, verdicts, strict=True):
        if result["model_version"] == v1:
            assert result["score"] == verdict.score


def _trained(directory: Path, train: Callable[[Path], Any]) -> Path:
    train(directory)
    return directory


def _anomaly_items(n: int) -> list[EnrichedItem]:
    items = []
    for offset, obs in enumerate(list(metric_series(3, n, seed=11))[:n]):
        payload = {"series_id": obs.series_id, "timestamp": obs.timestamp, "features": obs.features}
        envelope = build_envelope("anomaly", payload)  # a random submission id: its key
        enrichment = anomaly_enrich.enrich(envelope)
        assert isinstance(enrichment, anomaly_enrich.AnomalyEnrichment)
        items.append(EnrichedItem(envelope, enrichment, ("enriched.anomaly", 0, offset)))
    return items
