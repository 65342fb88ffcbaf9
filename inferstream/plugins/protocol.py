"""The task plug-in contract: what a task gives the generic enrich, infer and sink drivers.

A task = input schema (schemas/) + enrich rules + an inferer (model bundle) + its results
table (``inferstream.plugins.columns``). Stage drivers see only this protocol, never
``inferstream.tasks``; tasks are found through the ``inferstream.tasks`` entry-point group, so
adding a task touches no stage or runtime code.

Batches, not records, cross the interface: ``enrich`` gets every envelope of a micro-batch,
``Inferer.prepare``/``run`` every item, and both answer in bulk, in order. The drivers pass a
:class:`Batch`: a sequence of the items that also carries the Kafka key and headers of each
item's record as columns, for plug-ins that route or trace by them. Results are plain structures
(:data:`ResultFields`), never pydantic objects on the hot path: the JSON Schema export and the
API keep the pydantic models, a test checks the plain results against them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

from pydantic import BaseModel, ConfigDict

from inferstream.plugins.results import ResultFields
from inferstream.plugins.tables import ResultTable
from inferstream.schemas import Envelope
from inferstream.settings import PostgresSettings

ENTRY_POINT_GROUP = "inferstream.tasks"
T = TypeVar("T")
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Batch(Sequence[T]):
    """A micro-batch as a plug-in gets it: the items (envelopes for ``enrich``, enriched items
    for the inferer) with the key and headers of each item's Kafka record as columns aligned
    with them (``keys[i]``, ``headers[i]`` came with ``items[i]``). It is a ``Sequence`` of the
    items, so a plug-in that needs only them iterates it; slicing keeps the columns aligned."""

    items: tuple[T, ...]
    keys: tuple[bytes | None, ...]
    headers: tuple[Headers, ...]

    def __post_init__(self) -> None:
        if not len(self.items) == len(self.keys) == len(self.headers):
            raise ValueError(
                f"batch columns differ in length: {len(self.items)} items, "
                f"{len(self.keys)} keys, {len(self.headers)} headers"
            )

    @classmethod
    def of(cls, items: Sequence[T]) -> Batch[T]:
        """Items without records (tools, tests): no key, no headers."""
        return cls(tuple(items), (None,) * len(items), ((),) * len(items))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)  # not Sequence's __getitem__ loop

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Batch[T]: ...

    def __getitem__(self, index: int | slice) -> T | Batch[T]:
        if isinstance(index, slice):
            return Batch(self.items[index], self.keys[index], self.headers[index])
        return self.items[index]


class EnrichedMessage(BaseModel):
    """The value on ``enriched.<task>``: the validated envelope plus the task's enrichment."""

    model_config = ConfigDict(extra="forbid")

    envelope: dict[str, Any]
    enrichment: dict[str, Any]
    enriched_at: datetime


@dataclass(frozen=True)
class EnrichedItem:
    envelope: Envelope[Any]
    enrichment: BaseModel
    # Where infer read it: (topic, partition, offset) on enriched.<task>. A stream position for
    # plug-ins whose state must be order-exact (anomaly's per-series windows).
    position: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class Rejection:
    """Enrich refuses the submission; it goes to the dead-letter topic with this reason."""

    reason: str


@dataclass(frozen=True)
class InferContext:
    models_dir: Path
    postgres: PostgresSettings
    max_batch_items: int
    max_batch_tokens: int  # a model call's padded tokens (WorkerSettings.model_call_max_tokens)
    poison_marker: str | None = None  # fault injection (chaos runs only)


class Inferer(Protocol):
    model_name: str
    model_version: str

    def cost(self, item: EnrichedItem) -> int: ...

    def prepare(self, items: Sequence[EnrichedItem]) -> object: ...

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        """One result per item, in order, as plain fields (``results.result_head`` + the
        task's own). Raise PoisonBatchError when the model failed on the batch (the runtime
        bisects), TransientError when a dependency is unavailable."""
        ...

    def observe(self, results: Sequence[ResultFields]) -> None:
        """Results that are now durable on the result topic (own or another worker's), as plain
        fields: decoded JSON, or what ``run`` returned."""
        ...

    def ready(self) -> tuple[bool, str]: ...

    # Optional: ``close(self) -> None``, called once when the worker stops (``close_inferer``).
    # An inferer whose model calls run on a pool cancels the queued ones and waits for the
    # running ones there, so a stopping worker does not run the batches it prepared ahead.


def close_inferer(inferer: Inferer) -> None:
    """The inferer's ``close()``, where it has one (most hold nothing to release)."""
    close = getattr(inferer, "close", None)
    if callable(close):
        close()


class TaskPlugin(Protocol):
    name: str
    enrichment_model: type[BaseModel]
    table: ResultTable

    def enrich(self, envelopes: Sequence[Envelope[Any]]) -> list[BaseModel | Rejection]:
        """The enrichment (or the rejection) of every validated envelope of a batch, in order."""
        ...

    def load_inferer(self, context: InferContext) -> Inferer: ...

    def history(self, postgres: PostgresSettings) -> Sequence[ResultFields]:
        """Results already in Postgres (to rebuild in-memory state such as a kNN index)."""
        ...


def enriched_key(plugin: TaskPlugin, envelope: Envelope[Any], enrichment: BaseModel) -> bytes:
    """The key of the record enrich writes: the submission id, unless the plug-in defines
    ``enriched_key(envelope, enrichment)`` (a plug-in with per-entity state keys by the entity,
    so that all of one entity's records are in one partition, in order)."""
    custom = getattr(plugin, "enriched_key", None)
    if callable(custom):
        key = custom(envelope, enrichment)
        if isinstance(key, bytes) and key:
            return key
    return envelope.submission_id.encode()


class UnknownPluginError(LookupError):
    pass


def load_plugin(task: str) -> TaskPlugin:
    """The plug-in registered for task under the ``inferstream.tasks`` entry points."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if task not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UnknownPluginError(f"no pipeline plug-in for task {task!r} (installed: {known})")
    factory = found[task].load()
    plugin: TaskPlugin = factory()
    return plugin


def installed_plugins() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
