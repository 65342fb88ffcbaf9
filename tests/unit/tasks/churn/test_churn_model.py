"""churn reference model: the ONNX graph agrees with scikit-learn; the inferer on a real bundle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from inferstream.models.tabular import BundleNotBuiltError, load_tabular_bundle, run_graph
from inferstream.plugins import EnrichedItem, InferContext, encode_results
from inferstream.schemas import ChurnResult, build_envelope, encode, sample_payload
from inferstream.settings import PostgresSettings
from inferstream.tasks.churn.enrich import ChurnEnrichment, enrich
from inferstream.tasks.churn.inferer import BUNDLE_NAME, ChurnInferer
from inferstream.training import churn
from inferstream.training.common import export
from inferstream.training.datasets import churn_records


def test_onnx_matches_scikit_learn_on_1000_rows() -> None:
    payloads, labels = churn_records(4000, seed=11)
    x = churn.features(payloads)
    model = churn.fit(x[:3000], np.asarray(labels[:3000]))
    graph = export(model, x)
    held_out = x[3000:]
    assert held_out.shape[0] == 1000
    onnx = run_graph(graph, held_out)["probabilities"]
    diff = float(np.max(np.abs(onnx - model.predict_proba(held_out))))
    assert diff <= 1e-5


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    report = churn.train(directory, rows=3000)
    assert report.metrics["roc_auc"] > 0.75
    return directory


def test_the_inferer_serves_the_bundle(models_dir: Path) -> None:
    context = InferContext(models_dir, PostgresSettings.load(), 64, 64)
    inferer = ChurnInferer(context, registry=False)  # the local bundle; no Postgres here
    envelope = build_envelope("churn", sample_payload("churn"))
    enrichment = enrich(envelope)
    assert isinstance(enrichment, ChurnEnrichment)
    items = [EnrichedItem(envelope, enrichment)]
    (fields,) = inferer.run(items, inferer.prepare(items))
    # Plain fields, no validation: what goes on the wire passes the contract and means the same.
    (value,) = encode_results([fields])
    result = ChurnResult.model_validate_json(value)
    assert orjson.loads(value) == orjson.loads(encode(result))
    assert result.model_name == BUNDLE_NAME
    assert 0.0 <= result.probability <= 1.0
    assert result.label == (result.probability >= result.threshold)
    # A short-tenure month-to-month fibre customer with many tickets: the generator's rule
    # makes churn likely.
    assert result.probability > 0.5
    assert len(result.top_features) == 5
    magnitudes = [abs(f.contribution) for f in result.top_features]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_a_damaged_bundle_is_refused_with_the_command_that_rebuilds_it(models_dir: Path) -> None:
    bundle = load_tabular_bundle(models_dir, BUNDLE_NAME, "churn")
    graph = bundle.graphs["classifier"]
    original = graph.read_bytes()
    try:
        graph.write_bytes(original + b"x")
        with pytest.raises(BundleNotBuiltError, match="inferstream models train churn"):
            load_tabular_bundle(models_dir, BUNDLE_NAME, "churn")
    finally:
        graph.write_bytes(original)
    with pytest.raises(BundleNotBuiltError, match="not built"):
        load_tabular_bundle(models_dir / "nowhere", BUNDLE_NAME, "churn")
