"""Test helpers that read topics back (deadline-polled, never slept)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError

from inferstream.settings import KafkaSettings


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int


def read_topic(
    settings: KafkaSettings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    deadline_s: float = 60.0,
) -> list[Record]:
    """Read the topic from the beginning in a throwaway group until `until` holds."""
    consumer = Consumer(settings.consumer_config(f"test-read-{uuid.uuid4()}"))
    consumer.subscribe([topic])
    records: list[Record] = []
    deadline = time.monotonic() + deadline_s
    try:
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: condition not met within {deadline_s}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {error.str()}")
            value = msg.value()
            records.append(
                Record(
                    key=msg.key() if isinstance(msg.key(), bytes) else None,  # type: ignore[arg-type]
                    value=value if isinstance(value, bytes) else b"",
                    headers={k: v or b"" for k, v in (msg.headers() or [])},
                    partition=msg.partition() or 0,
                    offset=msg.offset() or 0,
                )
            )
    finally:
        consumer.close()
    return records
