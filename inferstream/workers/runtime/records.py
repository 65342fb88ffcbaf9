"""What flows through a stage: input records, output messages, and per-record outcomes.

Errors are values at the stage boundary: a record is either emitted (its outputs produced) or
rejected (dead-lettered with a reason). Dependencies being down is a `TransientError` (retried
with backoff, nothing committed past it); anything else escaping a stage is a bug (crash,
nothing committed, the restart reprocesses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Literal

from confluent_kafka import Message

from inferstream.errors import FatalStageError, PoisonBatchError, TransientError

__all__ = [
    "BatchResult",
    "Emit",
    "FatalStageError",
    "InRecord",
    "OutMessage",
    "Outcome",
    "PoisonBatchError",
    "Reject",
    "RejectKind",
    "TransientError",
]


# The records below are frozen dataclasses with their own __init__ (init=False): it sets the
# instance's fields in one step, where the generated one calls object.__setattr__ per field
# (frozen), which cost more than the rest of building a record. Every stage builds an InRecord
# per message on its poll loop, and an Emit and an OutMessage per output on its run thread.
_setattr = object.__setattr__
_header_value = itemgetter(1)


@dataclass(frozen=True, init=False)
class InRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None
    polled_at: float = 0.0  # time.monotonic() when the poll loop received it
    # (topic, partition), kept with the fields: every stage reads it four or five times per
    # record (tracker, gap guard, active count, done report), a new tuple per read as a property.
    position: tuple[str, int] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes,
        headers: tuple[tuple[str, bytes], ...] = (),
        timestamp_ms: int | None = None,
        polled_at: float = 0.0,
    ) -> None:
        _setattr(
            self,
            "__dict__",
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "key": key,
                "value": value,
                "headers": headers,
                "timestamp_ms": timestamp_ms,
                "polled_at": polled_at,
                "position": (topic, partition),
            },
        )

    @classmethod
    def from_message(cls, msg: Message, polled_at: float = 0.0) -> InRecord:
        """A consumed (error-free) Kafka message as an input record, its fields set as __init__
        sets them without the call (every stage builds one per message on its poll loop). The
        headers' list is copied as it is unless a value is None (a header without a value)."""
        key, value, listed = msg.key(), msg.value(), msg.headers()
        _, timestamp = msg.timestamp()
        topic, partition = str(msg.topic()), msg.partition() or 0
        headers: tuple[tuple[str, bytes], ...] = ()
        if listed:
            # A header without a value comes as None (looked for at C level, not per pair).
            headers = (
                tuple((k, v or b"") for k, v in listed)
                if None in map(_header_value, listed)
                else tuple(listed)
            )
        record = cls.__new__(cls)
        _setattr(
            record,
            "__dict__",
            {
                "topic": topic,
                "partition": partition,
                "offset": msg.offset() or 0,
                "key": key if isinstance(key, bytes) else None,
                "value": value if isinstance(value, bytes) else b"",
                "headers": headers,
                "timestamp_ms": timestamp if timestamp and timestamp > 0 else None,
                "polled_at": polled_at,
                "position": (topic, partition),
            },
        )
        return record

    def header(self, name: str) -> str | None:
        """The last value of the header ``name`` (lowercase), decoded."""
        value = self.header_bytes(name)
        return None if value is None else value.decode(errors="replace")

    def header_bytes(self, name: str) -> bytes | None:
        """The last value of the header ``name`` (lowercase), as it came."""
        # The map is built on the first look-up: a stage reads three or four headers of every
        # record (trace, submission time and id, content type), each a scan of them all before.
        # Kept in the instance's __dict__ by hand: functools.cached_property takes a lock on
        # every first access (Python 3.11), as much again as building the map.
        by_name = self.__dict__.get("_by_name")
        if by_name is None:
            by_name = self.__dict__["_by_name"] = {key.lower(): v for key, v in self.headers}
        return by_name.get(name)


@dataclass(frozen=True, init=False)
class OutMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    def __init__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        _setattr(self, "__dict__", {"topic": topic, "key": key, "value": value, "headers": headers})


RejectKind = Literal["rejected", "poison"]


@dataclass(frozen=True, init=False)
class Emit:
    """The record was handled; these messages (possibly none) are its durable outputs."""

    messages: tuple[OutMessage, ...] = ()

    def __init__(self, messages: tuple[OutMessage, ...] = ()) -> None:
        _setattr(self, "__dict__", {"messages": messages})


@dataclass(frozen=True)
class Reject:
    """The record can never succeed: dead-letter it with the reason, then commit past it."""

    reason: str
    kind: RejectKind = "rejected"
    submission_id: str | None = None
    model: tuple[str, str] | None = None  # (name, version) whose inference failed on it


Outcome = Emit | Reject


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
