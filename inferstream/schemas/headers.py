"""Kafka message headers: content type, schema version and W3C trace context."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CONTENT_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_SCHEMA_VERSION",
    "HEADER_TRACEPARENT",
    "TraceParent",
    "child_traceparent",
    "make_headers",
    "new_traceparent",
    "parse_traceparent",
    "read_headers",
]

CONTENT_TYPE = "application/json"
HEADER_CONTENT_TYPE = "content-type"
HEADER_SCHEMA_VERSION = "schema-version"
HEADER_TRACEPARENT = "traceparent"

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
_TRACEPARENT_RE = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>.*)$",
    re.DOTALL,
)


@dataclass(frozen=True)
class TraceParent:
    """A parsed ``traceparent`` header (W3C Trace Context)."""

    version: str
    trace_id: str
    parent_id: str
    trace_flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.trace_flags & 0x01)

    def __str__(self) -> str:
        return f"{self.version}-{self.trace_id}-{self.parent_id}-{self.trace_flags:02x}"


def _random_hex(nbytes: int) -> str:
    while True:
        value = secrets.token_hex(nbytes)
        if value.strip("0"):
            return value


def new_traceparent(*, sampled: bool = True) -> str:
    """A new root ``traceparent``: version 00, random non-zero trace id and parent id."""
    return f"00-{_random_hex(16)}-{_random_hex(8)}-{'01' if sampled else '00'}"


def parse_traceparent(value: str) -> TraceParent | None:
    """Parse a ``traceparent`` value; ``None`` when it is invalid per W3C Trace Context.

    Lowercase hex only; version ``ff`` and all-zero ids are invalid; version 00 must be exactly
    55 characters, later versions may append ``-``-separated fields (ignored).
    """
    m = _TRACEPARENT_RE.match(value.strip(" \t"))
    if m is None:
        return None
    version, trace_id, parent_id = m["version"], m["trace_id"], m["parent_id"]
    rest = m["rest"]
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if (version == "00" and rest) or (rest and not rest.startswith("-")):
        return None
    return TraceParent(version, trace_id, parent_id, int(m["flags"], 16))


def child_traceparent(parent: str) -> str:
    """A ``traceparent`` for a child span: same trace id and flags, new parent id, version 00.

    An invalid ``parent`` starts a new trace (as the W3C spec prescribes).
    """
    parsed = parse_traceparent(parent)
    if parsed is None:
        return new_traceparent()
    return f"00-{parsed.trace_id}-{_random_hex(8)}-{parsed.trace_flags:02x}"


def make_headers(schema_version: int, traceparent: str | None = None) -> list[tuple[str, bytes]]:
    """Headers for a produced message; a new root traceparent is generated when none is given.

    Raises ``ValueError`` for an invalid ``traceparent`` or a ``schema_version`` < 1.
    """
    if schema_version < 1:
        raise ValueError(f"schema_version must be >= 1, got {schema_version}")
    if traceparent is None:
        traceparent = new_traceparent()
    elif parse_traceparent(traceparent) is None:
        raise ValueError(f"invalid traceparent: {traceparent!r}")
    return [
        (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        (HEADER_SCHEMA_VERSION, str(schema_version).encode()),
        (HEADER_TRACEPARENT, traceparent.encode()),
    ]


def read_headers(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Kafka headers as ``{lowercased name: value}``; UTF-8 decoded (invalid bytes replaced),
    ``None`` values skipped, the last occurrence of a name wins."""
    out: dict[str, str] = {}
    for name, value in headers or ():
        if value is None:
            continue
        out[name.lower()] = value.decode("utf-8", errors="replace")
    return out
