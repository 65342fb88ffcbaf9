"""The task plug-in interface, outside ``inferstream.tasks``: the stages and the API import
this package, never a task (an import contract in pyproject.toml enforces it)."""

from inferstream.plugins.protocol import (
    ENTRY_POINT_GROUP,
    Batch,
    EnrichedItem,
    EnrichedMessage,
    InferContext,
    Inferer,
    Rejection,
    TaskPlugin,
    UnknownPluginError,
    close_inferer,
    enriched_key,
    installed_plugins,
    load_plugin,
)
from inferstream.plugins.results import (
    ResultFields,
    decode_result_fields,
    encode_results,
    result_head,
)
from inferstream.plugins.tables import Column, ResultTable, result_table

__all__ = [
    "ENTRY_POINT_GROUP",
    "Batch",
    "Column",
    "EnrichedItem",
    "EnrichedMessage",
    "InferContext",
    "Inferer",
    "Rejection",
    "ResultFields",
    "ResultTable",
    "TaskPlugin",
    "UnknownPluginError",
    "close_inferer",
    "decode_result_fields",
    "encode_results",
    "enriched_key",
    "installed_plugins",
    "load_plugin",
    "result_head",
    "result_table",
]
