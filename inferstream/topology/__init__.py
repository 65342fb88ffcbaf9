"""Topology as code: topics, partitions, retention and consumer groups; plan and apply."""

from inferstream.topology.admin import Outcome, TopologyError, admin_client, apply, observe
from inferstream.topology.plan import (
    AddPartitions,
    CreateTopic,
    Impossible,
    ObservedTopic,
    Plan,
    SetConfig,
    diff,
)
from inferstream.topology.spec import (
    DEADLETTER_TOPIC,
    ENVIRONMENTS,
    STAGES,
    TASK_TOPIC_KINDS,
    TopicSpec,
    desired_topics,
    feedback_topic,
    group_id,
    monitor_topic,
    topic_name,
)

__all__ = [
    "DEADLETTER_TOPIC",
    "ENVIRONMENTS",
    "STAGES",
    "TASK_TOPIC_KINDS",
    "AddPartitions",
    "CreateTopic",
    "Impossible",
    "ObservedTopic",
    "Outcome",
    "Plan",
    "SetConfig",
    "TopicSpec",
    "TopologyError",
    "admin_client",
    "apply",
    "desired_topics",
    "diff",
    "feedback_topic",
    "group_id",
    "monitor_topic",
    "observe",
    "topic_name",
]
