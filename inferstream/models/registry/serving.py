"""One serving path for the tabular plug-ins (churn, target_risk, anomaly): the registry's
live versions, taken once per batch, and the batch split between production and the canary.

A plug-in supplies what is its own: how a bundle becomes a per-version model object
(``load``) and how a group of the batch's rows is predicted by one of them (``predict``). The
rest is here, once: the watcher (``LiveModels``), the one ``take()`` per batch that makes a
batch see one set of versions, the key-hash split (``routing.split``) and the version each
result names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from inferstream.models.registry.live import LiveModels, Served
from inferstream.models.registry.routing import split
from inferstream.models.tabular import TabularBundle, TabularModel, load_tabular_bundle

M = TypeVar("M")
R = TypeVar("R")
# Registry versions are downloaded here, beside the local bundles (models/<name>/<version>/).
REGISTRY_CACHE = ".registry"


class VersionedServing(Generic[M]):
    """The versions of one model a worker serves; ``conninfo=None``: the local bundle only."""

    def __init__(
        self,
        name: str,
        task: str,
        load: Callable[[TabularBundle], M],
        models_dir: Path,
        conninfo: str | None,
    ) -> None:
        self.name = name
        self.live = LiveModels(
            name,
            load,
            lambda: load_tabular_bundle(models_dir, name, task),
            conninfo,
            models_dir / REGISTRY_CACHE,
        )
        self.live.start()

    @property
    def production_version(self) -> str:
        """Production's version as last taken (what the inferer reports as its own)."""
        return self.live.served.production[0]

    def take(self) -> Served[M]:
        """Once per batch: a pending switch happens here, between two batches."""
        return self.live.take()

    def run(
        self,
        served: Served[M],
        keys: Sequence[str],
        predict: Callable[[M, list[int]], list[R]],
    ) -> list[R]:
        """``predict(model, indexes)`` for each version's share of the batch (by key hash when a
        canary is served), the results put back in the batch's order."""
        if served.canary is None:
            return predict(served.production[1], list(range(len(keys))))
        main, canary = split(keys, served.fraction)
        out: dict[int, R] = {}
        for indexes, model in ((main, served.production[1]), (canary, served.canary[1])):
            if indexes:
                out.update(zip(indexes, predict(model, indexes), strict=True))
        return [out[i] for i in range(len(keys))]

    def describe(self, model_of: Callable[[M], TabularModel]) -> str:
        """For readiness: the served versions by alias and production's execution provider."""
        served = self.live.served
        versions = ", ".join(f"{a} {v}" for a, v in served.versions().items())
        return f"{self.name} {versions} on {model_of(served.production[1]).providers[0]}"
