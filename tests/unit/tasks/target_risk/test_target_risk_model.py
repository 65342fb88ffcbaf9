"""target_risk heads: each ONNX graph agrees with scikit-learn; the inferer on a real bundle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from inferstream.models.tabular import run_graph
from inferstream.plugins import EnrichedItem, InferContext, encode_results
from inferstream.schemas import TargetRiskResult, build_envelope, encode, sample_payload
from inferstream.settings import PostgresSettings
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment, enrich
from inferstream.tasks.target_risk.inferer import TargetRiskInferer
from inferstream.tasks.target_risk.risk import HEADS, risk_level
from inferstream.training import target_risk
from inferstream.training.common import export
from inferstream.training.datasets import target_records


@pytest.mark.parametrize("head", HEADS)
def test_onnx_matches_scikit_learn_on_1000_rows(head: str) -> None:
    payloads, labels = target_records(4000, seed=7)
    x = target_risk.features(payloads)
    y = {
        "vulnerability_predictor": np.asarray([t.vulnerabilities for t in labels]),
        "severity_predictor": np.asarray([t.severity for t in labels]),
        "chain_detector": np.asarray([t.chains for t in labels]),
    }[head]
    model = target_risk.head_model(head).fit(x[:3000], y[:3000])
    onnx = run_graph(export(model, x), x[3000:])["probabilities"]
    assert onnx.shape[0] == 1000
    assert float(np.max(np.abs(onnx - model.predict_proba(x[3000:])))) <= 1e-5


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    target_risk.train(directory, rows=3000)
    return directory


def test_the_inferer_gives_three_heads_and_a_consistent_risk(models_dir: Path) -> None:
    context = InferContext(models_dir, PostgresSettings.load(), 64, 64)
    inferer = TargetRiskInferer(context, registry=False)  # the local bundle; no Postgres here
    risky = {
        "domain": "shop.example.com",
        "technology_stack": ["wordpress", "php", "mysql"],
        "has_api": True,
        "description": "legacy admin console, customers upload files and pay by card (payment)",
    }
    plain = {"domain": "static.example.org", "technology_stack": [], "has_api": False}
    items = []
    for payload in (risky, plain, sample_payload("target_risk")):
        envelope = build_envelope("target_risk", payload)
        enrichment = enrich(envelope)
        assert isinstance(enrichment, TargetRiskEnrichment)
        items.append(EnrichedItem(envelope, enrichment))
    values = encode_results(inferer.run(items, inferer.prepare(items)))
    # Plain fields, no validation: what goes on the wire passes the contract and means the same.
    results = [TargetRiskResult.model_validate_json(v) for v in values]
    assert [orjson.loads(v) for v in values] == [orjson.loads(encode(r)) for r in results]
    first, second, _ = results
    assert first.risk_level == risk_level(first.risk_score)
    assert first.risk_score > second.risk_score
    assert first.vulnerabilities and first.vulnerabilities[0].probability >= 0.05
    probabilities = [v.probability for v in first.vulnerabilities]
    assert probabilities == sorted(probabilities, reverse=True)
    assert first.severity.label in ("low", "medium", "high", "critical")


def test_the_monitor_reference_scores_rows_exactly_as_the_inferer_serves_them(
    models_dir: Path,
) -> None:
    """The training's reference (what drift is measured against) and the served results name
    and score the heads' probabilities with the same code: equal scores, not close ones."""
    context = InferContext(models_dir, PostgresSettings.load(), 64, 64)
    inferer = TargetRiskInferer(context, registry=False)
    payloads, _ = target_records(50, seed=3)
    items = []
    for payload in payloads:
        envelope = build_envelope("target_risk", payload)
        enrichment = enrich(envelope)
        assert isinstance(enrichment, TargetRiskEnrichment)
        items.append(EnrichedItem(envelope, enrichment))
    matrix = inferer.prepare(items)
    served = [float(r["risk_score"]) for r in inferer.run(items, matrix)]
    model = inferer.serving.live.served.production[1]
    heads = {h: model.model.run(h, np.asarray(matrix))["probabilities"] for h in HEADS}
    assert target_risk.risk_scores(heads, model.labels) == served
    assert len(set(served)) > 10  # real, varied scores
