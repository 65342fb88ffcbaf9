"""The desired topology, as code: topics per task and stage, sized per environment.

Pure data: no broker access here. ``plan.py`` diffs it against what a cluster has and
``admin.py`` applies the difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DAY_MS = 24 * 60 * 60 * 1000
DEADLETTER_TOPIC = "deadletter"
# In flow order; archive (results -> the Parquet lake in S3) reads results beside the sink.
STAGES = ("enrich", "infer", "sink", "archive")
TASK_TOPIC_KINDS = ("submissions", "enriched", "results")
# Reviewers' decisions on a task's verdicts (bug_report duplicates: the triage view), read
# back by the offline evaluation. Kept a year: they are labels, not traffic.
# The monitored tasks' are ground-truth labels (did the customer churn, was it an anomaly,
# the true risk level), joined with the predictions by the model monitor for live accuracy
# (inferstream.monitor), so every task in MONITOR_TASKS has one.
# monitor.<task>: the model monitor's events, one per model version per evaluation (drift,
# live accuracy, p95, an automatic canary rollback); kept like results.
MONITOR_TASKS = ("churn", "anomaly", "target_risk")
FEEDBACK_TASKS = ("bug_report", *MONITOR_TASKS)
FEEDBACK_RETENTION_DAYS = 365
# Large payloads travel by reference (claim-check), so 1 MiB per message is plenty.
MAX_MESSAGE_BYTES = 1_048_576


@dataclass(frozen=True)
class EnvironmentProfile:
    partitions: int
    replication_factor: int
    min_insync_replicas: int | None
    retention_days: Mapping[str, int]


_RETENTION_DAYS = MappingProxyType(
    {"submissions": 7, "enriched": 3, "results": 14, DEADLETTER_TOPIC: 30}
)

ENVIRONMENTS: Mapping[str, EnvironmentProfile] = MappingProxyType(
    {
        # One machine: 2 partitions, so 2 members per stage still each own one (the tests run
        # 2). More would cost the broker: Tansu's s3 engine writes ~3 objects per partition per
        # produce and lists each partition a fetch reads (docs/benchmarks.md, overhead).
        "embedded": EnvironmentProfile(2, 1, None, _RETENTION_DAYS),
        "dev": EnvironmentProfile(6, 1, None, _RETENTION_DAYS),
        # Three brokers, acks=all with two in-sync replicas: survives one broker loss.
        "prod": EnvironmentProfile(12, 3, 2, _RETENTION_DAYS),
    }
)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


def topic_name(kind: str, task: str) -> str:
    """submissions.<task>, enriched.<task> or results.<task>."""
    if kind not in TASK_TOPIC_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {TASK_TOPIC_KINDS}")
    return f"{kind}.{task}"


def feedback_topic(task: str) -> str:
    """feedback.<task>: reviewers' decisions (only tasks in FEEDBACK_TASKS have one)."""
    if task not in FEEDBACK_TASKS:
        raise ValueError(f"task {task!r} has no feedback topic; expected one of {FEEDBACK_TASKS}")
    return f"feedback.{task}"


def monitor_topic(task: str) -> str:
    """monitor.<task>: the model monitor's events (only tasks in MONITOR_TASKS have one)."""
    if task not in MONITOR_TASKS:
        raise ValueError(f"task {task!r} has no monitor topic; expected one of {MONITOR_TASKS}")
    return f"monitor.{task}"


def group_id(stage: str, task: str, prefix: str = "inferstream") -> str:
    """The consumer group of one stage of one task: every process of it joins this group."""
    if stage not in (*STAGES, "subscribe", "webhooks", "monitor"):
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    return f"{prefix}.{stage}.{task}"


def profile(environment: str) -> EnvironmentProfile:
    try:
        return ENVIRONMENTS[environment]
    except KeyError:
        known = ", ".join(ENVIRONMENTS)
        raise ValueError(f"unknown environment {environment!r}; expected one of {known}") from None


def _config(kind: str, env: EnvironmentProfile) -> dict[str, str]:
    config = {
        "cleanup.policy": "delete",
        "retention.ms": str(env.retention_days[kind] * DAY_MS),
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
    }
    if env.min_insync_replicas is not None:
        config["min.insync.replicas"] = str(env.min_insync_replicas)
    return config


def desired_topics(
    environment: str, tasks: Iterable[str], partitions: int | None = None
) -> list[TopicSpec]:
    """Every topic the pipeline needs for these tasks, sorted by name; ``partitions`` overrides
    the environment's count (INFERSTREAM_TOPOLOGY_PARTITIONS)."""
    env = profile(environment)
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    count = env.partitions if partitions is None else partitions
    specs = [
        TopicSpec(topic_name(kind, task), count, env.replication_factor, _config(kind, env))
        for task in tasks
        for kind in TASK_TOPIC_KINDS
    ]
    feedback = {**_config("results", env), "retention.ms": str(FEEDBACK_RETENTION_DAYS * DAY_MS)}
    specs += [
        TopicSpec(feedback_topic(task), count, env.replication_factor, feedback)
        for task in tasks
        if task in FEEDBACK_TASKS
    ]
    specs += [
        TopicSpec(monitor_topic(task), count, env.replication_factor, _config("results", env))
        for task in tasks
        if task in MONITOR_TASKS
    ]
    specs.append(
        TopicSpec(DEADLETTER_TOPIC, count, env.replication_factor, _config(DEADLETTER_TOPIC, env))
    )
    return sorted(specs, key=lambda spec: spec.name)
