"""Producing a batch's outputs durably: idempotent producer, acks=all, flushed before commit."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import KafkaError, Message, Producer

from inferstream.settings import KafkaSettings
from inferstream.workers.runtime.records import OutMessage, TransientError

FLUSH_TIMEOUT_S = 30.0


class OutputProducer:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = Producer(kafka.producer_config())
        self._errors: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err.str()}")

    def send_all(self, messages: Sequence[OutMessage]) -> None:
        """Produce and wait for every ack; TransientError if any was not acknowledged."""
        if not messages:
            return
        self._errors = []
        for message in messages:
            while True:
                try:
                    self._producer.produce(
                        message.topic,
                        value=message.value,
                        key=message.key,
                        headers=list(message.headers),
                        on_delivery=self._on_delivery,
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)
        remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        if remaining or self._errors:
            errors, self._errors = self._errors, []
            raise TransientError(
                f"{remaining} outputs unacknowledged, {len(errors)} failed: {'; '.join(errors[:3])}"
            )

    def close(self) -> None:
        self._producer.flush(FLUSH_TIMEOUT_S)
