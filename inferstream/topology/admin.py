"""Read a cluster's topics and apply a plan (the Kafka AdminClient adapter)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from inferstream.settings import KafkaSettings
from inferstream.topology.plan import (
    Action,
    AddPartitions,
    CreateTopic,
    Impossible,
    ObservedTopic,
    Plan,
    SetConfig,
)

TIMEOUT_S = 15.0


class TopologyError(RuntimeError):
    """The cluster could not be read or changed."""


@dataclass(frozen=True)
class Outcome:
    action: Action
    ok: bool
    error: str | None = None


def admin_client(settings: KafkaSettings) -> AdminClient:
    return AdminClient(settings.admin_config())


def observe(admin: AdminClient, names: Iterable[str]) -> dict[str, ObservedTopic]:
    """Partitions, replication and the configs we manage, for those of names that exist."""
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S)
    except KafkaException as err:
        raise TopologyError(f"cannot list topics: {err.args[0]}") from None
    wanted = [name for name in names if name in metadata.topics]
    observed: dict[str, ObservedTopic] = {}
    resources = [ConfigResource("topic", name) for name in wanted]
    futures = admin.describe_configs(resources, request_timeout=TIMEOUT_S) if resources else {}
    for resource, future in futures.items():
        name = resource.name
        try:
            entries = future.result()
            config = {key: str(entry.value) for key, entry in entries.items() if entry.value}
        except KafkaException:
            config = {}  # a broker without DescribeConfigs: every managed key shows as drift
        topic = metadata.topics[name]
        replication = max((len(p.replicas) for p in topic.partitions.values()), default=0)
        observed[name] = ObservedTopic(name, len(topic.partitions), replication, config)
    return observed


def apply(admin: AdminClient, plan: Plan) -> list[Outcome]:
    """Apply what can be applied; every action gets an outcome, failures are not raised."""
    outcomes: list[Outcome] = []
    creates = [a for a in plan.actions if isinstance(a, CreateTopic)]
    outcomes += _create(admin, creates)
    outcomes += _partitions(admin, [a for a in plan.actions if isinstance(a, AddPartitions)])
    outcomes += _configs(admin, [a for a in plan.actions if isinstance(a, SetConfig)])
    outcomes += [Outcome(a, False, a.reason) for a in plan.actions if isinstance(a, Impossible)]
    return outcomes


def _error_text(err: BaseException) -> str:
    if isinstance(err, KafkaException) and err.args and isinstance(err.args[0], KafkaError):
        return str(err.args[0].str())
    return str(err)


def _create(admin: AdminClient, actions: Sequence[CreateTopic]) -> list[Outcome]:
    if not actions:
        return []
    new = [
        NewTopic(
            a.spec.name,
            num_partitions=a.spec.partitions,
            replication_factor=a.spec.replication_factor,
            config=dict(a.spec.config),
        )
        for a in actions
    ]
    futures = admin.create_topics(new, request_timeout=TIMEOUT_S)
    outcomes: list[Outcome] = []
    for action in actions:
        try:
            futures[action.spec.name].result()
            outcomes.append(Outcome(action, True))
        except KafkaException as err:
            first = err.args[0] if err.args else None
            code = first.code() if isinstance(first, KafkaError) else None
            # Created concurrently by another process: the desired state holds.
            ok = code == KafkaError.TOPIC_ALREADY_EXISTS
            outcomes.append(Outcome(action, ok, None if ok else _error_text(err)))
    return outcomes


def _partitions(admin: AdminClient, actions: Sequence[AddPartitions]) -> list[Outcome]:
    if not actions:
        return []
    futures = admin.create_partitions(
        [NewPartitions(a.topic, a.desired) for a in actions], request_timeout=TIMEOUT_S
    )
    outcomes: list[Outcome] = []
    for action in actions:
        try:
            futures[action.topic].result()
            outcomes.append(Outcome(action, True))
        except KafkaException as err:
            outcomes.append(Outcome(action, False, _error_text(err)))
    return outcomes


def _configs(admin: AdminClient, actions: Sequence[SetConfig]) -> list[Outcome]:
    by_topic: dict[str, list[SetConfig]] = {}
    for action in actions:
        by_topic.setdefault(action.topic, []).append(action)
    outcomes: list[Outcome] = []
    for topic, items in by_topic.items():
        entries = [
            ConfigEntry(a.key, a.desired, incremental_operation=AlterConfigOpType.SET)
            for a in items
        ]
        resource = ConfigResource("topic", topic, incremental_configs=entries)
        try:
            admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S)[
                resource
            ].result()
            outcomes += [Outcome(a, True) for a in items]
        except KafkaException as err:
            outcomes += [Outcome(a, False, _error_text(err)) for a in items]
    return outcomes
