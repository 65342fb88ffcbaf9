"""Publish validated submissions: idempotent producer, acks=all, key = submission_id."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel

from inferstream.schemas import (
    BlobRef,
    Envelope,
    build_envelope,
    encode,
    get_task,
    make_headers,
)
from inferstream.settings import KafkaSettings
from inferstream.topology import topic_name

FLUSH_TIMEOUT_S = 60.0


class PublishError(RuntimeError):
    """Records were not acknowledged by the broker; the message names them."""


class Publisher:
    """``Publisher("bug_report").publish({...})`` validates, sends and waits for the ack."""

    def __init__(
        self,
        task: str,
        settings: KafkaSettings | None = None,
        *,
        source: str = "sdk",
        tenant: str = "default",
    ) -> None:
        self.contract = get_task(task)
        self.task = task
        self.topic = topic_name("submissions", task)
        self.source = source
        self.tenant = tenant
        config = (settings or KafkaSettings.load()).producer_config()
        self._producer = Producer(config)
        self._failures: list[str] = []
        self.delivered = 0

    def publish(
        self,
        payload: BaseModel | Mapping[str, Any],
        *,
        submission_id: str | None = None,
        blob: BlobRef | None = None,
        traceparent: str | None = None,
        wait: bool = True,
    ) -> str:
        """Validate (raises pydantic ValidationError before sending), send, return the id."""
        envelope = build_envelope(
            self.task,
            payload,
            submission_id=submission_id,
            source=self.source,
            tenant=self.tenant,
            blob=blob,
        )
        self.send(envelope, traceparent=traceparent)
        if wait:
            self.flush()
        return envelope.submission_id

    def send(self, envelope: Envelope[Any], *, traceparent: str | None = None) -> None:
        """Queue an already-validated envelope; call flush() to wait for the acks."""
        if envelope.task != self.task:
            raise ValueError(f"envelope is for task {envelope.task!r}, publisher for {self.task!r}")
        value = encode(envelope)
        headers: list[tuple[str, str | bytes]] = list(
            make_headers(envelope.schema_version, traceparent)
        )
        key = envelope.submission_id.encode()
        while True:
            try:
                self._producer.produce(
                    self.topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                # Local queue full: serve delivery reports until there is room (backpressure).
                self._producer.poll(0.1)
        self._producer.poll(0)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            key = msg.key()
            sid = key.decode(errors="replace") if isinstance(key, bytes) else "?"
            self._failures.append(f"{sid}: {err.str()}")
        else:
            self.delivered += 1

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise PublishError(f"{remaining} records not acknowledged within {timeout_s:.0f}s")
        if self._failures:
            failures, self._failures = self._failures, []
            shown = "; ".join(failures[:5])
            raise PublishError(f"{len(failures)} records failed: {shown}")

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
