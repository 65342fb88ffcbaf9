"""The scenarios by name: each module has a ``Config`` (full size by default, ``tiny()``
for the smoke test, fields settable from the CLI) and ``run(config, ctx) -> Report``."""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import Any

SCENARIOS: dict[str, tuple[str, str]] = {
    "e2e": ("inferstream.bench.e2e", "1. whole pipeline vs the bare model"),
    "naive": (
        "inferstream.bench.naive",
        "2. vs a Quix Streams app and a naive per-message worker, with an ablation",
    ),
    "latency": ("inferstream.bench.latency", "3. open-loop latency at 25/50/75/100% load"),
    "sink": ("inferstream.bench.sink", "4. COPY + upsert vs executemany vs row by row"),
    "similarity": ("inferstream.bench.similarity", "5. faiss vs pgvector HNSW kNN"),
    "scaleout": ("inferstream.bench.scaleout", "6. 1 vs 2 infer workers"),
    "memory": ("inferstream.bench.memory", "7. worker RSS under a 100k backlog"),
    "overhead": ("inferstream.bench.overhead", "8. pipeline CPU per record outside the model"),
    "broker": ("inferstream.bench.broker", "broker storage engines: msg/s, restart, kill -9"),
    "archive": ("inferstream.bench.archive", "sink with/without an S3 PUT per result; archive"),
    "media": ("inferstream.bench.media", "media images/s: pipeline vs the bare model"),
}


class ScenarioError(ValueError):
    """Unknown scenario or option; the message lists what is valid."""


def module(name: str) -> ModuleType:
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
    return importlib.import_module(SCENARIOS[name][0])


def config(name: str, tiny: bool, overrides: dict[str, str]) -> Any:
    """The scenario's Config, tiny or full, with ``--set field=value`` overrides."""
    cls = module(name).Config
    base = cls.tiny() if tiny else cls()
    fields = {f.name: f for f in dataclasses.fields(base)}
    values: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in fields:
            raise ScenarioError(
                f"--set {key}: not an option of {name}; options: {', '.join(fields)}"
            )
        current = getattr(base, key)
        try:
            if isinstance(current, bool):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                values[key] = raw.lower() in ("true", "1", "yes")
            else:
                values[key] = type(current)(raw)
        except ValueError:
            raise ScenarioError(f"--set {key}={raw}: expected {type(current).__name__}") from None
    try:
        return dataclasses.replace(base, **values)
    except ValueError as err:  # a Config's own check (__post_init__) of the values together
        raise ScenarioError(str(err)) from None
