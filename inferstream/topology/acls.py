"""The Kafka ACLs of the two principals, derived from the topology (pure; no broker access).

The workers read and write every pipeline topic, commit in their consumer groups and create
topics (``topology apply``). The results API only publishes submissions. ``acl_admin.py``
applies the set with the AdminClient (``inferstream topology acls --apply``); the Strimzi
``KafkaUser`` resources in infra/k8s/strimzi declare the same set (a deploy test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

from inferstream.topology.spec import (
    DEADLETTER_TOPIC,
    FEEDBACK_TASKS,
    MONITOR_TASKS,
    TASK_TOPIC_KINDS,
)

# Kafka's name for the one cluster resource.
CLUSTER = "kafka-cluster"
DEFAULT_WORKER_PRINCIPAL = "User:inferstream"
DEFAULT_API_PRINCIPAL = "User:inferstream-api"

# What the workers do on every topic: consume, produce, see metadata, create the topic and
# read/fix its configs (topology apply).
WORKER_TOPIC_OPERATIONS = (
    "READ",
    "WRITE",
    "DESCRIBE",
    "CREATE",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
)
# Idempotent producers (enable.idempotence) need IDEMPOTENT_WRITE on the cluster on brokers
# older than Kafka 3.0 (KIP-679 implies it from WRITE later): granted so either works.
WORKER_CLUSTER_OPERATIONS = ("DESCRIBE", "CREATE", "IDEMPOTENT_WRITE")
API_TOPIC_OPERATIONS = ("WRITE", "DESCRIBE")
API_CLUSTER_OPERATIONS = ("IDEMPOTENT_WRITE",)
# The principal that applies the ACLs must keep the right to change them: once any ACL names
# the cluster resource, ALTER on it is no longer open to everyone (allow.everyone.if.no.acl.found).
ADMIN_CLUSTER_OPERATIONS = ("DESCRIBE", "ALTER")


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding, from any host (Kafka ACLs are one operation each)."""

    principal: str
    resource_type: str  # TOPIC, GROUP or BROKER (the cluster)
    name: str
    pattern: str  # LITERAL or PREFIXED
    operation: str

    def describe(self) -> str:
        where = "cluster" if self.resource_type == "BROKER" else self.resource_type.lower()
        kind = "prefix" if self.pattern == "PREFIXED" else "literal"
        return f"allow {self.principal} {self.operation} on {where} {self.name} ({kind})"


def topic_patterns() -> list[tuple[str, str]]:
    """(name, pattern) covering every topic the topology can create, for any task."""
    kinds = [
        *TASK_TOPIC_KINDS,
        *(["feedback"] if FEEDBACK_TASKS else []),
        *(["monitor"] if MONITOR_TASKS else []),
    ]
    return [(f"{kind}.", "PREFIXED") for kind in kinds] + [(DEADLETTER_TOPIC, "LITERAL")]


def _check_principal(principal: str) -> None:
    kind, _, name = principal.partition(":")
    if not kind or not name:
        raise ValueError(f"principal {principal!r} must look like User:<name>")


def desired_acls(
    worker: str = DEFAULT_WORKER_PRINCIPAL,
    api: str = DEFAULT_API_PRINCIPAL,
    *,
    group_prefix: str = "inferstream",
    admin: str | None = None,
) -> list[Acl]:
    """Every binding, sorted. ``admin``: the principal that will apply them (it keeps ALTER and
    DESCRIBE on the cluster); None where an operator applies them (Strimzi's User Operator)."""
    for principal in (worker, api, *([admin] if admin else [])):
        _check_principal(principal)
    acls = {
        Acl(worker, "TOPIC", name, pattern, operation)
        for name, pattern in topic_patterns()
        for operation in WORKER_TOPIC_OPERATIONS
    }
    acls |= {
        Acl(worker, "GROUP", f"{group_prefix}.", "PREFIXED", operation)
        for operation in ("READ", "DESCRIBE")
    }
    acls |= {Acl(worker, "BROKER", CLUSTER, "LITERAL", op) for op in WORKER_CLUSTER_OPERATIONS}
    acls |= {Acl(api, "TOPIC", "submissions.", "PREFIXED", op) for op in API_TOPIC_OPERATIONS}
    acls |= {Acl(api, "BROKER", CLUSTER, "LITERAL", op) for op in API_CLUSTER_OPERATIONS}
    if admin:
        acls |= {Acl(admin, "BROKER", CLUSTER, "LITERAL", op) for op in ADMIN_CLUSTER_OPERATIONS}
    return sorted(acls)


def missing(desired: list[Acl], present: set[Acl]) -> list[Acl]:
    """What applying must create; bindings present beyond the set are left alone (never
    deleted: another tool or a human may have granted them)."""
    return [acl for acl in desired if acl not in present]
