"""Topology on the real embedded broker: apply is idempotent, the plan sees drift."""

from __future__ import annotations

from _stack import Stack

from inferstream.schemas import TASKS
from inferstream.topology import (
    ENVIRONMENTS,
    AddPartitions,
    admin_client,
    apply,
    desired_topics,
    diff,
    observe,
)

EMBEDDED = ENVIRONMENTS["embedded"].partitions  # what `inferstream up` creates (2)


def test_up_created_every_topic_with_the_embedded_profile(stack: Stack) -> None:
    desired = desired_topics("embedded", TASKS)
    observed = observe(admin_client(stack.kafka), [spec.name for spec in desired])
    assert sorted(observed) == sorted(spec.name for spec in desired)
    assert {topic.partitions for topic in observed.values()} == {EMBEDDED}
    assert "deadletter" in observed
    assert "submissions.bug_report" in observed and "results.churn" in observed


def test_apply_twice_is_a_no_op(stack: Stack) -> None:
    first = stack.cli("topology", "apply")
    assert first.returncode == 0, first.stderr
    second = stack.cli("topology", "apply")
    assert second.returncode == 0, second.stderr
    assert "topology is up to date" in second.stdout
    plan = stack.cli("topology", "plan")
    assert plan.stdout.strip() == "no changes"


def test_plan_for_a_bigger_environment_shows_partition_growth(stack: Stack) -> None:
    admin = admin_client(stack.kafka)
    desired = desired_topics("dev", TASKS)
    plan = diff(desired, observe(admin, [spec.name for spec in desired]))
    growth = [a for a in plan.actions if isinstance(a, AddPartitions)]
    assert len(growth) == len(desired)
    assert all((a.current, a.desired) == (EMBEDDED, 6) for a in growth)


def test_refused_partition_growth_is_reported_not_raised(stack: Stack) -> None:
    # Tansu does not implement CreatePartitions (docs/architecture.md): the outcome says so.
    admin = admin_client(stack.kafka)
    desired = [s for s in desired_topics("dev", TASKS) if s.name == "results.churn"]
    plan = diff(desired, observe(admin, ["results.churn"]))
    outcomes = apply(admin, plan)
    partition_outcomes = [o for o in outcomes if isinstance(o.action, AddPartitions)]
    assert len(partition_outcomes) == 1
    assert not partition_outcomes[0].ok
    assert partition_outcomes[0].error


def test_cli_apply_for_dev_fails_loudly_on_the_refusal(stack: Stack) -> None:
    result = stack.cli("topology", "apply", "--env", "dev")
    assert result.returncode == 1
    assert "failed" in result.stdout and f"partitions {EMBEDDED} -> 6" in result.stdout
