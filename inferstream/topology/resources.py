"""The topology as Kubernetes resources for a Kafka run by the Strimzi operator (pure data).

``KafkaTopic`` per topic (``desired_topics``) and ``KafkaUser`` per principal (``desired_acls``):
infra/generate.py writes them to infra/k8s/strimzi, and its ``--check`` (in ``make test``) fails
when the committed files no longer match the topology. Strimzi's Topic and User Operators then
own the topics and ACLs declaratively instead of ``topology apply`` / ``topology acls --apply``.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

from inferstream.topology.acls import Acl, desired_acls
from inferstream.topology.spec import TopicSpec, desired_topics

API_VERSION = "kafka.strimzi.io/v1beta2"
STRIMZI_RESOURCE = {"TOPIC": "topic", "GROUP": "group", "BROKER": "cluster"}
STRIMZI_PATTERN = {"LITERAL": "literal", "PREFIXED": "prefix"}


def _k8s_name(name: str) -> str:
    """Object names are DNS subdomains: no underscores (the topic keeps its own name)."""
    return name.replace("_", "-")


def _config_value(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def kafka_topic(spec: TopicSpec, cluster: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": _k8s_name(spec.name), "labels": {"strimzi.io/cluster": cluster}},
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "config": {key: _config_value(v) for key, v in sorted(spec.config.items())},
        },
    }


def kafka_topics(environment: str, tasks: Iterable[str], cluster: str) -> list[dict[str, Any]]:
    return [kafka_topic(spec, cluster) for spec in desired_topics(environment, tasks)]


def strimzi_operation(operation: str) -> str:
    """READ -> Read, DESCRIBE_CONFIGS -> DescribeConfigs (Strimzi's AclOperation spelling)."""
    return "".join(word.capitalize() for word in operation.split("_"))


def _strimzi_acls(acls: list[Acl]) -> list[dict[str, Any]]:
    """One Strimzi rule per resource, with all its operations."""
    out = []
    for (kind, name, pattern), group in groupby(
        sorted(acls), key=lambda a: (a.resource_type, a.name, a.pattern)
    ):
        resource: dict[str, str] = {"type": STRIMZI_RESOURCE[kind]}
        if kind != "BROKER":
            resource |= {"name": name, "patternType": STRIMZI_PATTERN[pattern]}
        operations = sorted(strimzi_operation(acl.operation) for acl in group)
        out.append({"resource": resource, "operations": operations})
    return out


def kafka_user(name: str, acls: list[Acl], cluster: str) -> dict[str, Any]:
    mine = [acl for acl in acls if acl.principal == f"User:{name}"]
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaUser",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": cluster}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": _strimzi_acls(mine)},
        },
    }


def kafka_users(worker: str, api: str, cluster: str) -> list[dict[str, Any]]:
    """The workers' and the API's users; Strimzi's User Operator applies the ACLs, so no
    principal needs the right to change them."""
    acls = desired_acls(f"User:{worker}", f"User:{api}")
    return [kafka_user(worker, acls, cluster), kafka_user(api, acls, cluster)]
