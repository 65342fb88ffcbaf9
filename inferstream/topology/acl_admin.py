"""Read and create a cluster's ACLs (the Kafka AdminClient adapter of ``acls.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from inferstream.topology.acls import Acl

TIMEOUT_S = 15.0
ANY_HOST = "*"


class AclError(RuntimeError):
    """The cluster's ACLs could not be read (no authorizer, no permission, unreachable)."""


def _binding(acl: Acl) -> AclBinding:
    return AclBinding(
        ResourceType[acl.resource_type],
        acl.name,
        ResourcePatternType[acl.pattern],
        acl.principal,
        ANY_HOST,
        AclOperation[acl.operation],
        AclPermissionType.ALLOW,
    )


def _acl(binding: AclBinding) -> Acl | None:
    """Ours when it is an ALLOW from any host; anything else is not what we manage."""
    if binding.permission_type != AclPermissionType.ALLOW or binding.host != ANY_HOST:
        return None
    return Acl(
        binding.principal,
        binding.restype.name,
        binding.name,
        binding.resource_pattern_type.name,
        binding.operation.name,
    )


def _error_text(err: KafkaException) -> str:
    first = err.args[0] if err.args else None
    return str(first.str()) if isinstance(first, KafkaError) else str(err)


def present(admin: AdminClient, principals: Sequence[str]) -> set[Acl]:
    """The ALLOW bindings the cluster has for these principals."""
    found: set[Acl] = set()
    for principal in principals:
        # None matches any name and any host (the library's stubs say str).
        query = AclBindingFilter(
            ResourceType.ANY,
            None,  # type: ignore[arg-type]
            ResourcePatternType.ANY,
            principal,
            None,  # type: ignore[arg-type]
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        try:
            bindings = admin.describe_acls(query, request_timeout=TIMEOUT_S).result()
        except KafkaException as err:
            raise AclError(f"cannot describe the ACLs of {principal}: {_error_text(err)}") from None
        found |= {acl for acl in map(_acl, bindings) if acl is not None}
    return found


def create(admin: AdminClient, acls: Sequence[Acl]) -> list[tuple[Acl, str | None]]:
    """Create each binding; (acl, None) when it holds, (acl, reason) when the broker refused.
    Kafka's CreateAcls is itself idempotent: a binding that already exists is a success."""
    if not acls:
        return []
    bindings = {_binding(acl): acl for acl in acls}
    futures = admin.create_acls(list(bindings), request_timeout=TIMEOUT_S)
    outcomes: list[tuple[Acl, str | None]] = []
    for binding, future in futures.items():
        try:
            future.result()
            outcomes.append((bindings[binding], None))
        except KafkaException as err:
            outcomes.append((bindings[binding], _error_text(err)))
    return sorted(outcomes, key=lambda outcome: outcome[0])
