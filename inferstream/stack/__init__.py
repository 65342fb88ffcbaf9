"""The embedded stack: Tansu, PostgreSQL+pgvector and SeaweedFS S3 on free loopback ports."""

from inferstream.stack.manager import (
    ComponentStatus,
    StackState,
    down,
    restart_broker,
    status,
    up,
)
from inferstream.stack.processes import StackError

__all__ = [
    "ComponentStatus",
    "StackError",
    "StackState",
    "down",
    "restart_broker",
    "status",
    "up",
]
