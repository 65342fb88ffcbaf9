"""The tabular inferers' shared serving step on a real (churn) bundle: the versions are taken
once per batch, the inferer reports production's version as its own from that batch on, and
each submission is served by the version its id's hash selects, results in the batch's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from inferstream.models.registry.live import Served
from inferstream.models.registry.routing import is_canary
from inferstream.models.tabular import TabularBundle, TabularModel, load_tabular_bundle
from inferstream.plugins import EnrichedItem, InferContext
from inferstream.schemas import build_envelope, sample_payload
from inferstream.settings import PostgresSettings
from inferstream.tasks.churn.enrich import ChurnEnrichment, enrich
from inferstream.tasks.churn.features import FEATURE_NAMES
from inferstream.tasks.churn.inferer import BUNDLE_NAME, ChurnInferer
from inferstream.tasks.tabular import TabularInferer, VersionModel
from inferstream.training import churn


class _Version:
    def __init__(self, bundle: TabularBundle) -> None:
        self.model = TabularModel(bundle)
        self.version = bundle.version


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    churn.train(directory, rows=1000)
    return directory


@pytest.fixture
def inferer(models_dir: Path) -> TabularInferer[Any]:
    context = InferContext(models_dir, PostgresSettings.load(), 64, 64)
    return TabularInferer(context, BUNDLE_NAME, "churn", _Version, registry=False)


def _items(n: int) -> list[EnrichedItem]:
    items = []
    for _ in range(n):
        envelope = build_envelope("churn", sample_payload("churn"))
        enrichment = enrich(envelope)
        assert isinstance(enrichment, ChurnEnrichment)
        items.append(EnrichedItem(envelope, enrichment))
    return items


def _by_version(model: Any, idx: list[int]) -> list[tuple[str, int]]:
    return [(str(model.version), i) for i in idx]


def test_the_local_bundle_is_served_and_reported(inferer: TabularInferer[Any]) -> None:
    local = inferer.serving.live.served.production[0]
    assert inferer.model_version == local and inferer.model_name == BUNDLE_NAME
    assert inferer.serve(_items(3), _by_version) == [(local, 0), (local, 1), (local, 2)]
    ready, detail = inferer.ready()
    assert ready and BUNDLE_NAME in detail and local in detail


def test_a_switch_is_taken_by_the_next_batch_and_split_by_submission_id(
    inferer: TabularInferer[Any],
) -> None:
    production, canary = _Stub("v2"), _Stub("v3")
    inferer.serving.live._pending = Served(("v2", production), ("v3", canary), 0.5)
    assert inferer.model_version != "v2"  # nothing switches until a batch is served
    items = _items(40)
    served = inferer.serve(items, _by_version)
    assert inferer.model_version == "v2"
    assert [i for _, i in served] == list(range(40))  # the batch's order
    for (version, i), item in zip(served, items, strict=True):
        assert version == ("v3" if is_canary(item.envelope.submission_id, 0.5) else "v2"), i
    assert {v for v, _ in served} == {"v2", "v3"}  # 40 ids at 50 %: both (p = 2e-12)


class _Stub:
    def __init__(self, version: str) -> None:
        self.version = version


def test_a_matrix_inferer_stacks_feature_vectors_and_refuses_other_enrichments(
    models_dir: Path,
) -> None:
    context = InferContext(models_dir, PostgresSettings.load(), 64, 64)
    churn_inferer = ChurnInferer(context, registry=False)
    items = _items(4)
    matrix = churn_inferer.prepare(items)
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float32
    assert matrix.shape == (4, len(FEATURE_NAMES))
    assert matrix[2].tolist() == pytest.approx(list(_enrichment(items[2]).features))
    results = churn_inferer.run(items, matrix)
    assert [r["submission_id"] for r in results] == [i.envelope.submission_id for i in items]
    stranger = EnrichedItem(items[0].envelope, _Other())
    with pytest.raises(TypeError, match="expected ChurnEnrichment, got _Other"):
        churn_inferer.prepare([stranger])


class _Other(BaseModel):
    features: list[float] = [0.0]


def _enrichment(item: EnrichedItem) -> ChurnEnrichment:
    assert isinstance(item.enrichment, ChurnEnrichment)
    return item.enrichment


def test_a_bundle_trained_on_other_features_is_refused_with_the_command(models_dir: Path) -> None:
    bundle = load_tabular_bundle(models_dir, BUNDLE_NAME, "churn")
    assert VersionModel(bundle, FEATURE_NAMES, "churn").version == bundle.version
    with pytest.raises(RuntimeError, match=r"other features; run `inferstream models train x`"):
        VersionModel(bundle, (*FEATURE_NAMES, "extra"), "x")
