"""The AdminClient mapping of our ACLs: every binding survives the round trip through
confluent-kafka's AclBinding (names, pattern types and operations as librdkafka spells them)."""

from __future__ import annotations

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from inferstream.topology.acl_admin import _acl, _binding
from inferstream.topology.acls import desired_acls


def test_every_binding_round_trips() -> None:
    for acl in desired_acls(admin="User:ops"):
        binding = _binding(acl)
        assert binding.permission_type == AclPermissionType.ALLOW
        assert binding.host == "*"
        assert _acl(binding) == acl


def test_denies_and_host_bound_bindings_are_not_ours() -> None:
    def binding(host: str, permission: AclPermissionType) -> AclBinding:
        return AclBinding(
            ResourceType.TOPIC,
            "submissions.",
            ResourcePatternType.PREFIXED,
            "User:inferstream-api",
            host,
            AclOperation.WRITE,
            permission,
        )

    assert _acl(binding("10.0.0.1", AclPermissionType.ALLOW)) is None
    assert _acl(binding("*", AclPermissionType.DENY)) is None
    assert _acl(binding("*", AclPermissionType.ALLOW)) is not None
