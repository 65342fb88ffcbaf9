"""What the tabular plug-ins' inferers (churn, target_risk, anomaly) share around their model:
the registry's versions of it (``models.registry.serving``), taken once per batch, the served
production version reported as the inferer's own, and each submission's id as the key that
splits a batch between production and the canary. Each task keeps its model and results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from inferstream.models.registry.serving import VersionedServing
from inferstream.models.tabular import TabularBundle, TabularModel
from inferstream.plugins import EnrichedItem, InferContext, ResultFields


class _OnTabular(Protocol):
    """A task's per-version model object: it runs on one ONNX graph bundle."""

    @property
    def model(self) -> TabularModel: ...


M = TypeVar("M", bound=_OnTabular)
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
