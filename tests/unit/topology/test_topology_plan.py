"""The topology plan is a pure diff: property-tested against synthetic cluster states."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import TASKS
from inferstream.topology import (
    AddPartitions,
    CreateTopic,
    Impossible,
    ObservedTopic,
    SetConfig,
    desired_topics,
    diff,
    feedback_topic,
    group_id,
    monitor_topic,
    topic_name,
)
from inferstream.topology.spec import MONITOR_TASKS

ENVS = st.sampled_from(["embedded", "dev", "prod"])


def _as_observed(env: str) -> dict[str, ObservedTopic]:
    return {
        s.name: ObservedTopic(s.name, s.partitions, s.replication_factor, dict(s.config))
        for s in desired_topics(env, TASKS)
    }


def test_topic_names_per_task_and_stage() -> None:
    names = {spec.name for spec in desired_topics("dev", TASKS)}
    # three per task, the dead-letter topic, feedback.bug_report (reviewers' decisions) and
    # the three monitored tasks' feedback (ground truth) and monitor.<task> topics
    assert len(names) == 3 * len(TASKS) + 1 + 4 + 3
    assert {"feedback.bug_report", "feedback.churn", "feedback.anomaly"} <= names
    assert {"monitor.churn", "monitor.anomaly", "monitor.target_risk"} <= names
    assert {"submissions.bug_report", "enriched.bug_report", "results.bug_report"} <= names
    assert "deadletter" in names
    assert topic_name("results", "churn") == "results.churn"
    assert group_id("infer", "bug_report") == "inferstream.infer.bug_report"
    with pytest.raises(ValueError, match="unknown topic kind"):
        topic_name("output", "churn")


def test_every_monitored_task_has_every_topic_its_monitor_reads_and_writes() -> None:
    # The monitor reads results and feedback (enriched for input drift) and writes
    # monitor.<task>: a topic missing from the topology stops `worker monitor` at its check.
    for task in MONITOR_TASKS:
        names = {spec.name for spec in desired_topics("embedded", [task])}
        wanted = {topic_name(kind, task) for kind in ("enriched", "results")}
        assert wanted | {feedback_topic(task), monitor_topic(task)} <= names, task


def test_prod_has_replication_and_min_insync() -> None:
    for spec in desired_topics("prod", TASKS):
        assert spec.replication_factor == 3
        assert spec.config["min.insync.replicas"] == "2"


@given(ENVS)
def test_an_empty_cluster_needs_every_topic_created(env: str) -> None:
    plan = diff(desired_topics(env, TASKS), {})
    assert all(isinstance(a, CreateTopic) for a in plan.actions)
    assert len(plan.actions) == len(desired_topics(env, TASKS))


@given(ENVS)
def test_a_cluster_in_the_desired_state_needs_nothing(env: str) -> None:
    assert diff(desired_topics(env, TASKS), _as_observed(env)).is_empty


@given(
    ENVS,
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=1, max_value=5),
    st.dictionaries(st.sampled_from(["retention.ms", "cleanup.policy"]), st.text(max_size=5)),
)
def test_drift_is_found_exactly(
    env: str, partitions: int, replication: int, config: dict[str, str]
) -> None:
    desired = desired_topics(env, TASKS)
    target = desired[0]
    observed = _as_observed(env)
    observed[target.name] = ObservedTopic(
        target.name, partitions, replication, {**target.config, **config}
    )
    actions = diff(desired, observed).actions
    assert all(getattr(a, "topic", None) == target.name for a in actions), (
        "only the drifted topic is touched"
    )
    grows = [a for a in actions if isinstance(a, AddPartitions)]
    assert bool(grows) == (partitions < target.partitions)
    impossible = [a for a in actions if isinstance(a, Impossible)]
    expected_impossible = (partitions > target.partitions) + (
        replication != target.replication_factor
    )
    assert len(impossible) == expected_impossible
    changed = {a.key for a in actions if isinstance(a, SetConfig)}
    assert changed == {k for k, v in config.items() if target.config.get(k) != v}


def test_unknown_environment() -> None:
    with pytest.raises(ValueError, match="unknown environment"):
        desired_topics("staging", TASKS)
