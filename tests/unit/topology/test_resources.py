"""Strimzi resources from the topology: object names, sizes and the ACL spelling."""

from __future__ import annotations

import re

import pytest

from inferstream.topology import desired_topics
from inferstream.topology.resources import kafka_topics, kafka_users, strimzi_operation

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@pytest.mark.parametrize("environment", ["embedded", "dev", "prod"])
def test_one_topic_resource_per_topic_with_its_sizing(environment: str) -> None:
    tasks = ["bug_report", "churn"]
    topics = kafka_topics(environment, tasks, "kc")
    specs = desired_topics(environment, tasks)
    assert [t["spec"]["topicName"] for t in topics] == [s.name for s in specs]
    for topic, spec in zip(topics, specs, strict=True):
        assert DNS_SUBDOMAIN.match(topic["metadata"]["name"]), topic["metadata"]["name"]
        assert topic["metadata"]["labels"] == {"strimzi.io/cluster": "kc"}
        assert topic["spec"]["partitions"] == spec.partitions
        assert topic["spec"]["replicas"] == spec.replication_factor
        assert {k: str(v) for k, v in topic["spec"]["config"].items()} == dict(spec.config)
    assert {t["metadata"]["name"] for t in topics} >= {"results.bug-report", "deadletter"}


@pytest.mark.parametrize(
    ("operation", "spelled"),
    [
        ("READ", "Read"),
        ("DESCRIBE_CONFIGS", "DescribeConfigs"),
        ("IDEMPOTENT_WRITE", "IdempotentWrite"),
    ],
)
def test_operations_are_spelled_as_strimzi_does(operation: str, spelled: str) -> None:
    assert strimzi_operation(operation) == spelled


def test_users_carry_no_acl_admin_right() -> None:
    workers, api = kafka_users("w", "a", "kc")
    assert [workers["metadata"]["name"], api["metadata"]["name"]] == ["w", "a"]
    for user in (workers, api):
        for acl in user["spec"]["authorization"]["acls"]:
            assert "Alter" not in acl["operations"]  # the User Operator applies them
    resources = [acl["resource"] for acl in api["spec"]["authorization"]["acls"]]
    assert resources == [
        {"type": "cluster"},
        {"type": "topic", "name": "submissions.", "patternType": "prefix"},
    ]
