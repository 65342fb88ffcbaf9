"""What the tabular plug-ins' inferers (churn, target_risk, anomaly) share around their model:
the registry's versions of it (``models.registry.serving``), taken once per batch, the served
production version reported as the inferer's own, and each submission's id as the key that
splits a batch between production and the canary. Each task keeps its model and results;
``MatrixInferer`` adds the batch step of the models that score each item's feature vector
alone (churn, target_risk)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from inferstream.models.registry.serving import VersionedServing
from inferstream.models.tabular import TabularBundle, TabularModel
from inferstream.plugins import EnrichedItem, InferContext, ResultFields


class _OnTabular(Protocol):
    """A task's per-version model object: it runs on one ONNX graph bundle."""

    @property
    def model(self) -> TabularModel: ...


class VersionModel:
    """One version of a task's model: its graphs on ONNX Runtime, its name and version. A
    bundle trained on other features than the task computes is refused, with the command that
    trains the right one (the graphs would run and give wrong answers)."""

    def __init__(self, bundle: TabularBundle, features: Sequence[str], task: str) -> None:
        if tuple(bundle.preprocessing.get("feature_names", ())) != tuple(features):
            raise RuntimeError(
                f"bundle {bundle.name}/{bundle.version} was trained on other features; "
                f"run `inferstream models train {task}`"
            )
        self.model = TabularModel(bundle)
        self.name = bundle.name
        self.version = bundle.version


class _OnMatrix(_OnTabular, Protocol):
    """A per-version model that predicts items from their rows of the batch's feature matrix."""

    def predict(
        self, items: Sequence[EnrichedItem], x: npt.NDArray[np.float32], now: datetime
    ) -> list[ResultFields]: ...


M = TypeVar("M", bound=_OnTabular)
P = TypeVar("P", bound=_OnMatrix)
R = TypeVar("R")


class TabularInferer(Generic[M]):
    """The registry's production version of one model (the local bundle while there is none,
    or with ``registry=False``) and its canary for a stable key-hash share of submissions."""

    def __init__(
        self,
        context: InferContext,
        name: str,
        task: str,
        load: Callable[[TabularBundle], M],
        *,
        registry: bool,
    ) -> None:
        conninfo = context.postgres.conninfo() if registry else None
        self.serving = VersionedServing(name, task, load, context.models_dir, conninfo)
        self.model_name = name
        self.model_version = self.serving.production_version

    def cost(self, item: EnrichedItem) -> int:
        return 1

    def serve(
        self, items: Sequence[EnrichedItem], predict: Callable[[M, list[int]], list[R]]
    ) -> list[R]:
        """``predict(model, indexes)`` for each version's share of the batch, in the batch's
        order. The versions are taken once here, so the whole batch sees one set of them (a
        pending switch happens between two batches)."""
        served = self.serving.take()
        self.model_version = served.production[0]
        keys = [item.envelope.submission_id for item in items]
        return self.serving.run(served, keys, predict)

    def observe(self, results: Sequence[ResultFields]) -> None:
        return None  # stateless; a task that keeps state from results overrides it

    def ready(self) -> tuple[bool, str]:
        return True, self.serving.describe(lambda m: m.model)


class MatrixInferer(TabularInferer[P]):
    """prepare() stacks the items' feature vectors (``enrichment_type``'s ``features``); run()
    predicts each version's share of the rows, all with one timestamp."""

    enrichment_type: ClassVar[type[Any]]

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return np.asarray([self._features(item) for item in items], dtype=np.float32)

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        if not isinstance(prepared, np.ndarray):
            raise TypeError("prepare() output expected")
        matrix, now = prepared, datetime.now(UTC)
        return self.serve(
            items, lambda model, idx: model.predict([items[i] for i in idx], matrix[idx], now)
        )

    def _features(self, item: EnrichedItem) -> list[float]:
        enrichment: Any = item.enrichment
        if not isinstance(enrichment, self.enrichment_type):
            expected = self.enrichment_type.__name__
            raise TypeError(f"expected {expected}, got {type(enrichment).__name__}")
        return list(enrichment.features)
