"""anomaly: the isolation forest's ONNX graph agrees with scikit-learn; a scorer rebuilt from
durable results after a crash gives the same scores as an uninterrupted one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import IsolationForest

from inferstream.models.tabular import run_graph
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, encode_results
from inferstream.schemas import AnomalyResult, build_envelope
from inferstream.settings import PostgresSettings
from inferstream.tasks.anomaly.enrich import AnomalyEnrichment, enrich
from inferstream.tasks.anomaly.inferer import AnomalyInferer, Scorer, load_scorer
from inferstream.tasks.anomaly.scoring import FEATURE_NAMES
from inferstream.training import anomaly
from inferstream.training.common import export
from inferstream.training.datasets import metric_series


def test_onnx_matches_scikit_learn_on_1000_rows() -> None:
    x, _, _ = anomaly.windowed(list(metric_series(10, 150, seed=5)))
    forest = IsolationForest(n_estimators=20, random_state=0).fit(x[:500])
    onnx = run_graph(export(forest, x), x[500:1500])["scores"].reshape(-1)
    assert onnx.shape[0] == 1000
    assert float(np.max(np.abs(onnx - forest.decision_function(x[500:1500])))) <= 1e-5


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> InferContext:
    directory = tmp_path_factory.mktemp("models")
    # 20 trees: these tests check the serving path, not the forest's quality (200 trees take
    # ~1 CPU minute to export).
    anomaly.train(directory, series_count=10, length=150, trees=20)
    return InferContext(directory, PostgresSettings.load(), 64, 64)


OBSERVATIONS = list(metric_series(3, 30, seed=9))


def _items(start: int, stop: int) -> list[EnrichedItem]:
    items = []
    for offset in range(start, stop):
        obs = OBSERVATIONS[offset]
        envelope = build_envelope(
            "anomaly",
            {"series_id": obs.series_id, "timestamp": obs.timestamp, "features": obs.features},
        )
        enrichment = enrich(envelope)
        assert isinstance(enrichment, AnomalyEnrichment)
        items.append(EnrichedItem(envelope, enrichment, ("enriched.anomaly", 0, offset)))
    return items


def _scores(results: Sequence[ResultFields]) -> list[float]:
    return [float(r["score"]) for r in results]


def _run(inferer: AnomalyInferer, items: list[EnrichedItem], batch: int) -> list[ResultFields]:
    out: list[ResultFields] = []
    for i in range(0, len(items), batch):
        part = items[i : i + batch]
        out += inferer.run(part, inferer.prepare(part))
    return out


def test_the_inferer_result_carries_what_rebuilds_the_window(context: InferContext) -> None:
    inferer = AnomalyInferer(context, registry=False)
    (fields,) = _run(inferer, _items(0, 1), 1)
    # Plain fields, no validation: what goes on the wire still passes the contract.
    (value,) = encode_results([fields])
    result = AnomalyResult.model_validate_json(value)
    obs = OBSERVATIONS[0]
    assert result.series_id == obs.series_id
    assert result.features == {name: obs.features[name] for name in FEATURE_NAMES}
    assert (result.input_partition, result.input_offset) == (0, 0)
    assert result.is_anomaly == (result.score > result.threshold)


@settings(max_examples=10, deadline=None)
@given(
    crash=st.integers(1, len(OBSERVATIONS) - 1), durable=st.integers(0, 10), batch=st.integers(1, 9)
)
def test_a_replay_after_a_crash_gives_the_uninterrupted_scores(
    context: InferContext, crash: int, durable: int, batch: int
) -> None:
    """Worker A scores records [0, crash + durable) (the last ``durable`` of them produced but
    not committed), dies; worker B is rebuilt from A's durable results and replays from
    ``crash``: every score equals the uninterrupted reference."""
    items = _items(0, len(OBSERVATIONS))
    reference = _scores(_run(AnomalyInferer(context, registry=False), items, 7))
    done = min(len(items), crash + durable)
    first = _run(AnomalyInferer(context, registry=False), items[:done], batch)
    replacement = AnomalyInferer(context, registry=False)
    replacement.observe(list(reversed(first)))  # history + result topic, in any order
    replayed = _run(replacement, items[crash:], batch)
    assert _scores(first) == reference[:done]
    assert _scores(replayed) == reference[crash:]


def test_the_pure_scorer_gives_what_the_inferer_gives(context: InferContext) -> None:
    items = _items(0, 40)
    served = _scores(_run(AnomalyInferer(context, registry=False), items, 5))
    scorer: Scorer = load_scorer(context)
    verdicts = scorer.score(
        [
            (i.enrichment.series_id, (0, n), i.enrichment.values, None)  # type: ignore[attr-defined]
            for n, i in enumerate(items)
        ]
    )
    assert [v.score for v in verdicts] == served


def test_a_window_payload_uses_only_its_own_history(context: InferContext, tmp_path: Path) -> None:
    inferer = AnomalyInferer(context, registry=False)
    _run(inferer, _items(0, 20), 20)
    rows = [
        OBSERVATIONS[n]
        for n in range(0, 60, 3)
        if OBSERVATIONS[n].series_id == OBSERVATIONS[0].series_id
    ]
    window = [{"timestamp": o.timestamp, "features": o.features} for o in rows]
    envelope = build_envelope("anomaly", {"series_id": OBSERVATIONS[0].series_id, "window": window})
    enrichment = enrich(envelope)
    assert isinstance(enrichment, AnomalyEnrichment)
    item = EnrichedItem(envelope, enrichment, ("enriched.anomaly", 0, 500))
    fresh = AnomalyInferer(context, registry=False)
    assert _scores(inferer.run([item], None)) == _scores(fresh.run([item], None))
