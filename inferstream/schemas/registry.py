"""The task registry: which payload and result model belong to which task name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import BaseModel

from .envelope import Envelope
from .result import ResultBase
from .tasks import (
    AnomalyPayload,
    AnomalyResult,
    BugReportPayload,
    BugReportResult,
    ChurnPayload,
    ChurnResult,
    MediaPayload,
    MediaResult,
    TargetRiskPayload,
    TargetRiskResult,
)

__all__ = [
    "SCHEMA_VERSION",
    "TASKS",
    "TaskContract",
    "TaskName",
    "UnknownTaskError",
    "get_task",
]

TaskName = Literal["bug_report", "target_risk", "media", "anomaly", "churn"]

SCHEMA_VERSION = 1
"""Current wire schema version of every task."""


class UnknownTaskError(ValueError):
    """Raised for a task name that is not in the registry."""


@dataclass(frozen=True)
class TaskContract:
    """The wire contract of one task."""

    name: str
    payload_model: type[BaseModel]
    result_model: type[ResultBase]
    schema_version: int

    @cached_property
    def envelope_model(self) -> type[Envelope[Any]]:
        """The concrete ``Envelope[payload_model]`` class. Pydantic caches the class too, but
        its look-up (generic arguments, cache keys) cost enrich ~6 % of its CPU per record."""
        model: type[Envelope[Any]] = Envelope[self.payload_model]  # type: ignore[name-defined]
        return model


def _contract(payload: type[BaseModel], result: type[ResultBase]) -> TaskContract:
    name = getattr(payload, "TASK", None)
    if not isinstance(name, str):
        raise TypeError(f"{payload.__name__} has no TASK class variable")
    result_task = result.model_fields["task"].default
    if result_task != name:
        raise TypeError(f"{result.__name__}.task default {result_task!r} != {name!r}")
    return TaskContract(name, payload, result, SCHEMA_VERSION)


TASKS: Mapping[str, TaskContract] = MappingProxyType(
    {
        c.name: c
        for c in (
            _contract(BugReportPayload, BugReportResult),
            _contract(TargetRiskPayload, TargetRiskResult),
            _contract(MediaPayload, MediaResult),
            _contract(AnomalyPayload, AnomalyResult),
            _contract(ChurnPayload, ChurnResult),
        )
    }
)
assert set(TASKS) == set(get_args(TaskName)), "TaskName and TASKS disagree"


def get_task(name: str) -> TaskContract:
    """Return the contract of ``name`` or raise :class:`UnknownTaskError` naming the known tasks."""
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {known}") from None
