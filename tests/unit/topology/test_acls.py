"""The Kafka ACL set derived from the topology: what each principal may and may not do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import TASKS
from inferstream.topology import STAGES, desired_topics, group_id
from inferstream.topology.acls import Acl, desired_acls, missing

WORKER, API, ADMIN = "User:w", "User:a", "User:ops"


def allows(acls: list[Acl], principal: str, kind: str, name: str, operation: str) -> bool:
    """Kafka's match: a literal binding names the resource, a prefixed one starts it."""
    for acl in acls:
        if (acl.principal, acl.resource_type, acl.operation) != (principal, kind, operation):
            continue
        if acl.name == name if acl.pattern == "LITERAL" else name.startswith(acl.name):
            return True
    return False


def test_the_workers_reach_every_topic_and_group_of_every_environment() -> None:
    acls = desired_acls(WORKER, API)
    for environment in ("embedded", "dev", "prod"):
        for spec in desired_topics(environment, TASKS):
            for operation in ("READ", "WRITE", "DESCRIBE", "CREATE", "ALTER_CONFIGS"):
                assert allows(acls, WORKER, "TOPIC", spec.name, operation), (spec.name, operation)
    for task in TASKS:
        for stage in (*STAGES, "webhooks", "subscribe"):
            assert allows(acls, WORKER, "GROUP", group_id(stage, task), "READ")
    assert allows(acls, WORKER, "BROKER", "kafka-cluster", "CREATE")


def test_the_api_may_only_produce_submissions() -> None:
    acls = [acl for acl in desired_acls(WORKER, API) if acl.principal == API]
    assert {(a.resource_type, a.name, a.operation) for a in acls} == {
        ("TOPIC", "submissions.", "WRITE"),
        ("TOPIC", "submissions.", "DESCRIBE"),
        ("BROKER", "kafka-cluster", "IDEMPOTENT_WRITE"),
    }
    for spec in desired_topics("prod", TASKS):
        reads = allows(acls, API, "TOPIC", spec.name, "READ")
        writes = allows(acls, API, "TOPIC", spec.name, "WRITE")
        assert not reads, spec.name
        assert writes == spec.name.startswith("submissions."), spec.name
    assert not allows(acls, API, "GROUP", group_id("sink", "bug_report"), "READ")


def test_only_the_admin_principal_may_change_acls() -> None:
    without = desired_acls(WORKER, API)
    assert not any(acl.operation == "ALTER" for acl in without)
    with_admin = desired_acls(WORKER, API, admin=ADMIN)
    altering = {acl.principal for acl in with_admin if acl.operation == "ALTER"}
    assert altering == {ADMIN}
    assert set(without) < set(with_admin)


def test_the_group_prefix_follows_the_setting() -> None:
    acls = desired_acls(WORKER, API, group_prefix="team-a")
    assert allows(acls, WORKER, "GROUP", group_id("infer", "churn", prefix="team-a"), "READ")
    assert not allows(acls, WORKER, "GROUP", group_id("infer", "churn"), "READ")


@pytest.mark.parametrize("principal", ["inferstream", "User:", ":x", ""])
def test_a_malformed_principal_is_refused(principal: str) -> None:
    with pytest.raises(ValueError, match="User:<name>"):
        desired_acls(principal, API)


@given(st.sets(st.integers(min_value=0, max_value=100)))
def test_missing_is_exactly_what_the_cluster_lacks(kept: set[int]) -> None:
    desired = desired_acls(WORKER, API, admin=ADMIN)
    present = {acl for index, acl in enumerate(desired) if index in kept}
    extra = Acl("User:other", "TOPIC", "x", "LITERAL", "READ")  # never deleted, never created
    todo = missing(desired, present | {extra})
    assert set(todo) == set(desired) - present
    assert extra not in todo
    assert missing(desired, set(desired)) == []  # a second --apply creates nothing
