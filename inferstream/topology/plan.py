"""Diff the desired topology against what a cluster has (pure; no broker access)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inferstream.topology.spec import TopicSpec


@dataclass(frozen=True)
class ObservedTopic:
    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateTopic:
    spec: TopicSpec

    def describe(self) -> str:
        return (
            f"+ create {self.spec.name} (partitions={self.spec.partitions}, "
            f"replication={self.spec.replication_factor})"
        )


@dataclass(frozen=True)
class AddPartitions:
    topic: str
    current: int
    desired: int

    def describe(self) -> str:
        return f"~ {self.topic}: partitions {self.current} -> {self.desired}"


@dataclass(frozen=True)
class SetConfig:
    topic: str
    key: str
    current: str | None
    desired: str

    def describe(self) -> str:
        return f"~ {self.topic}: {self.key} {self.current or '(unset)'} -> {self.desired}"


@dataclass(frozen=True)
class Impossible:
    """A difference Kafka cannot apply in place; reported for a human to decide."""

    topic: str
    reason: str

    def describe(self) -> str:
        return f"! {self.topic}: {self.reason}"


Action = CreateTopic | AddPartitions | SetConfig | Impossible


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]

    @property
    def is_empty(self) -> bool:
        return not self.actions

    def lines(self) -> list[str]:
        return [action.describe() for action in self.actions] or ["no changes"]


def diff(desired: Sequence[TopicSpec], observed: Mapping[str, ObservedTopic]) -> Plan:
    actions: list[Action] = []
    for spec in desired:
        have = observed.get(spec.name)
        if have is None:
            actions.append(CreateTopic(spec))
            continue
        if have.partitions < spec.partitions:
            actions.append(AddPartitions(spec.name, have.partitions, spec.partitions))
        elif have.partitions > spec.partitions:
            actions.append(
                Impossible(
                    spec.name,
                    f"has {have.partitions} partitions, desired {spec.partitions}: "
                    "partitions can never be removed (keeping the larger count)",
                )
            )
        if have.replication_factor != spec.replication_factor:
            actions.append(
                Impossible(
                    spec.name,
                    f"replication factor {have.replication_factor} != "
                    f"{spec.replication_factor}: needs a partition reassignment",
                )
            )
        for key, value in sorted(spec.config.items()):
            if have.config.get(key) != value:
                actions.append(SetConfig(spec.name, key, have.config.get(key), value))
    return Plan(tuple(actions))
