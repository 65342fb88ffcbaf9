"""Producing a batch's outputs durably: idempotent producer, acks=all, flushed before commit."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from inferstream.settings import KafkaSettings
from inferstream.workers.runtime.records import OutMessage, TransientError

FLUSH_TIMEOUT_S = 30.0
# Errors after which this idempotent producer can never be acknowledged again: its producer id
# is fenced or its sequence state is gone. Kafka's own recovery (a new epoch from
# InitProducerId) is refused by Tansu for anything but a brand-new producer, and after an
# outage of Tansu's S3 storage a worker kept retrying its fenced producer forever.
RENEW_ON = frozenset(
    {
        KafkaError._FENCED,
        KafkaError._FATAL,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
        KafkaError.INVALID_PRODUCER_ID_MAPPING,
    }
)

log = structlog.get_logger(__name__)


def needs_new_producer(err: KafkaError) -> bool:
    return bool(err.fatal()) or err.code() in RENEW_ON


class OutputProducer:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._config = kafka.producer_config()
        self._producer = Producer(self._config)
        self._errors: list[str] = []
        self._renew = False
        self.renewals = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err.str()}")
            self._renew = self._renew or needs_new_producer(err)

    def send_all(self, messages: Sequence[OutMessage]) -> None:
        """Produce and wait for every ack; TransientError if any was not acknowledged. The
        caller retries the whole batch: what was acknowledged before the failure is produced
        again (at least once; the sink absorbs it on result_id / submission_id)."""
        if not messages:
            return
        self._errors = []
        try:
            self._produce(messages)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            self._renew = self._renew or (err is not None and needs_new_producer(err))
            self._replace_if_needed()
            raise TransientError(f"produce refused: {exc}") from exc
        remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        if remaining or self._errors:
            errors, self._errors = self._errors, []
            self._replace_if_needed()
            raise TransientError(
                f"{remaining} outputs unacknowledged, {len(errors)} failed: {'; '.join(errors[:3])}"
            )

    def _produce(self, messages: Sequence[OutMessage]) -> None:
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

    def _replace_if_needed(self) -> None:
        """Drop a producer that can never be acknowledged again and start a new one (a new
        producer id). Only between batches: nothing of the failed batch is counted as sent."""
        if not self._renew:
            return
        self._renew = False
        old = self._producer
        old.purge()
        old.flush(0)
        self._producer = Producer(self._config)
        self.renewals += 1
        log.warning("output producer replaced after a fatal or fencing error", n=self.renewals)

    def close(self) -> None:
        self._producer.flush(FLUSH_TIMEOUT_S)
