"""The task plug-in contract: what a task gives the generic enrich, infer and sink drivers.

A task = input schema (schemas/) + enrich rules + an inferer (model bundle) + a result -> row
mapping for its Postgres table. Stage drivers see only this protocol; tasks are found through
the ``inferstream.tasks`` entry-point group, so adding a task touches no stage or runtime code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from inferstream.schemas import Envelope, ResultBase, make_result_id
from inferstream.settings import PostgresSettings

ENTRY_POINT_GROUP = "inferstream.tasks"


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
    max_batch_tokens: int
    poison_marker: str | None = None  # fault injection (chaos runs only)


@dataclass(frozen=True)
class ResultTable:
    """Where the sink writes a task's results: table, columns and their Postgres types."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]


# Every results table starts and ends with these columns (the contract the sink, verify and
# the results API rely on); a task lists only its own columns between them.
_HEAD = (
    ("result_id", "text"),
    ("submission_id", "text"),
    ("model_name", "text"),
    ("model_version", "text"),
)
_TAIL = (("produced_at", "timestamptz"), ("submitted_at", "timestamptz"))


def result_table(name: str, own: Sequence[tuple[str, str]]) -> ResultTable:
    """A results table: the contract's common columns around the task's own (column, type)s."""
    pairs = (*_HEAD, *own, *_TAIL)
    return ResultTable(name, tuple(c for c, _ in pairs), tuple(t for _, t in pairs))


def result_row(
    result: ResultBase, submitted_at: datetime | None, own: Sequence[Any]
) -> tuple[Any, ...]:
    """The row of a ``result_table``: the common values around the task's own, in order."""
    head = (result.result_id, result.submission_id, result.model_name, result.model_version)
    return (*head, *own, result.produced_at, submitted_at)


def result_head(
    item: EnrichedItem, model_name: str, model_version: str, produced_at: datetime
) -> dict[str, Any]:
    """The fields every result starts with (the contract's common part), for an inferer that
    builds its results without validation (schemas/fast.py); the task adds its own after them."""
    sid = item.envelope.submission_id
    return {
        "result_id": make_result_id(sid, model_name, model_version),
        "submission_id": sid,
        "schema_version": item.envelope.schema_version,
        "model_name": model_name,
        "model_version": model_version,
        "produced_at": produced_at,
    }


class Inferer(Protocol):
    model_name: str
    model_version: str

    def cost(self, item: EnrichedItem) -> int: ...

    def prepare(self, items: Sequence[EnrichedItem]) -> object: ...

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultBase]:
        """One result per item, in order. Raise PoisonBatchError when the model failed on the
        batch (the runtime bisects), TransientError when a dependency is unavailable."""
        ...

    def observe(self, results: Sequence[ResultBase]) -> None:
        """Results that are now durable on the result topic (own or another worker's)."""
        ...

    def ready(self) -> tuple[bool, str]: ...


class TaskPlugin(Protocol):
    name: str
    enrichment_model: type[BaseModel]
    table: ResultTable

    def enrich(self, envelope: Envelope[Any]) -> BaseModel | Rejection: ...

    def load_inferer(self, context: InferContext) -> Inferer: ...

    def history(self, postgres: PostgresSettings) -> Sequence[ResultBase]:
        """Results already in Postgres (to rebuild in-memory state such as a kNN index)."""
        ...

    def row(self, result: ResultBase, submitted_at: datetime | None) -> tuple[Any, ...]:
        """The table row of a result, in ``table.columns`` order."""
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
