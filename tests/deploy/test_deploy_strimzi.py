"""infra/k8s/strimzi: topics and Kafka users as resources (Strimzi KafkaTopic, KafkaUser) for
clusters whose Kafka runs under the Strimzi operator, generated from inferstream.topology. The
results API's principal may only produce to submissions.*; the workers' principal covers every
topic and consumer group the topology defines; every topic is declared with its prod sizing."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import yaml
from _deploy_common import K8S
from _deploy_kustomize import build

from inferstream.schemas import TASKS
from inferstream.topology import STAGES, desired_topics, group_id
from inferstream.topology.acls import desired_acls
from inferstream.topology.resources import STRIMZI_PATTERN, STRIMZI_RESOURCE, strimzi_operation

STRIMZI = K8S / "strimzi"
OPERATIONS = {  # Strimzi's KafkaUser v1beta2 AclOperation values
    "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
    "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All",
}  # fmt: skip


def users() -> dict[str, dict[str, Any]]:
    return {u["metadata"]["name"]: u for u in build(STRIMZI) if u["kind"] == "KafkaUser"}


def _covers(acl: dict[str, Any], kind: str, name: str) -> bool:
    resource = acl["resource"]
    if resource["type"] != kind:
        return False
    if resource.get("patternType", "literal") == "prefix":
        return bool(name.startswith(resource["name"]))
    return bool(resource["name"] == name)


def test_users_are_well_formed_strimzi_resources() -> None:
    found = users()
    assert set(found) == {"inferstream", "inferstream-api"}
    for user in found.values():
        assert user["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert user["metadata"]["labels"]["strimzi.io/cluster"]
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        for acl in user["spec"]["authorization"]["acls"]:
            assert set(acl) <= {"resource", "operations", "host", "type"}
            assert acl["resource"]["type"] in {"topic", "group", "cluster", "transactionalId"}
            assert acl["resource"].get("patternType", "literal") in {"literal", "prefix"}
            assert acl["operations"] and set(acl["operations"]) <= OPERATIONS


def test_the_api_may_only_produce_submissions() -> None:
    acls = users()["inferstream-api"]["spec"]["authorization"]["acls"]
    assert acls == [
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
        {
            "resource": {"type": "topic", "name": "submissions.", "patternType": "prefix"},
            "operations": ["Describe", "Write"],
        },
    ]


def test_the_users_grant_exactly_the_set_topology_acls_applies_on_msk() -> None:
    """One ACL set for both ways of applying it: Strimzi's User Operator and, on MSK,
    `inferstream topology acls --apply`."""
    expected = {
        (acl.principal, STRIMZI_RESOURCE[acl.resource_type], acl.name, acl.pattern, acl.operation)
        for acl in desired_acls("User:inferstream", "User:inferstream-api")
    }
    found = set()
    for name, user in users().items():
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            pattern = {v: k for k, v in STRIMZI_PATTERN.items()}[
                resource.get("patternType", "literal")
            ]
            for op in acl["operations"]:
                operation = next(
                    a.operation for a in desired_acls() if strimzi_operation(a.operation) == op
                )
                found.add(
                    (
                        f"User:{name}",
                        resource["type"],
                        resource.get("name", "kafka-cluster"),
                        pattern,
                        operation,
                    )
                )
    assert found == expected


def test_every_topic_of_the_topology_is_a_kafka_topic_resource() -> None:
    topics = {t["spec"]["topicName"]: t for t in build(STRIMZI) if t["kind"] == "KafkaTopic"}
    desired = desired_topics("prod", TASKS)
    assert sorted(topics) == [spec.name for spec in desired]
    for spec in desired:
        topic = topics[spec.name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "inferstream"
        assert "_" not in topic["metadata"]["name"]  # a DNS subdomain
        assert topic["spec"]["partitions"] == spec.partitions == 12
        assert topic["spec"]["replicas"] == spec.replication_factor == 3
        config = {key: str(value) for key, value in topic["spec"]["config"].items()}
        assert config == dict(spec.config)


def test_the_workers_reach_every_topic_and_group_of_the_topology() -> None:
    acls = users()["inferstream"]["spec"]["authorization"]["acls"]
    for spec in desired_topics("prod", TASKS):
        (acl,) = [a for a in acls if _covers(a, "topic", spec.name)]
        assert {"Read", "Write", "Describe", "Create"} <= set(acl["operations"]), spec.name
    for task in TASKS:
        for stage in (*STAGES, "webhooks"):
            group = group_id(stage, task)
            assert any(_covers(a, "group", group) and "Read" in a["operations"] for a in acls), (
                group
            )


def test_kubectl_kustomize_renders_the_same_users() -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with kustomize) is needed for this check"
    result = subprocess.run(
        [kubectl, "kustomize", str(STRIMZI)], capture_output=True, text=True, check=True
    )
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert rendered == build(STRIMZI)
