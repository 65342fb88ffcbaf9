"""Moved to :mod:`inferstream.plugins` (the stages must not import ``inferstream.tasks``).

Kept as an alias for code outside the stages (benchmarks, CLI, verify) written against the old
path; new code imports ``inferstream.plugins``."""

from inferstream.plugins import (
    ENTRY_POINT_GROUP,
    EnrichedItem,
    EnrichedMessage,
    InferContext,
    Inferer,
    Rejection,
    ResultTable,
    TaskPlugin,
    UnknownPluginError,
    enriched_key,
    installed_plugins,
    load_plugin,
    result_table,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "EnrichedItem",
    "EnrichedMessage",
    "InferContext",
    "Inferer",
    "Rejection",
    "ResultTable",
    "TaskPlugin",
    "UnknownPluginError",
    "enriched_key",
    "installed_plugins",
    "load_plugin",
    "result_table",
]
