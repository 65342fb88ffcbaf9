"""Producing a batch's outputs durably: idempotent producer, acks=all, flushed before commit.

Every send ends in a flush, and librdkafka's flush sends what is queued at once, whatever
linger.ms says. So this producer lingers long: outputs queued for several batches in a row
(the runner's coalescing under backlog) leave as one produce request per broker at the flush,
not one per batch; on Tansu's s3 storage each partition in a request costs ~3 object writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from inferstream.settings import KafkaSettings
from inferstream.workers.runtime.records import OutMessage, TransientError

FLUSH_TIMEOUT_S = 30.0
# Long enough that the batches of one coalesced group share a request (the runner bounds a
# group by the batch wait); the flush that ends every group sends at once, so no record waits
# for it.
OUTPUT_LINGER_MS = 1_000
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
        self._config = {
            **kafka.producer_config(),
            "linger.ms": max(kafka.linger_ms, OUTPUT_LINGER_MS),
        }
        self._producer = Producer(self._config)
        self._errors: list[str] = []
        self._queued = 0  # messages handed to the producer since begin()
        self._renew = False
        self.renewals = 0
        # One bound method for every message: ``self._on_delivery`` made a new one per
        # produce, which the client holds until the message's delivery report (a GC-tracked
        # object per output in flight, scanned by the young collections).
        self._deliver = self._on_delivery

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err.str()}")
            self._renew = self._renew or needs_new_producer(err)

    def send_all(self, messages: Sequence[OutMessage]) -> None:
        """Produce and wait for every ack; TransientError if any was not acknowledged. The
        caller retries the whole batch: what was acknowledged before the failure is produced
        again (at least once; the sink absorbs it on result_id / submission_id)."""
        self.begin()
        self.queue(messages)
        self.wait_durable()

    def begin(self) -> None:
        """Start a group of batches: forget the failures of an earlier, retried attempt."""
        self._errors = []
        self._queued = 0

    def queue(self, messages: Sequence[OutMessage]) -> None:
        """Hand messages to the producer without waiting (wait_durable() waits for them)."""
        try:
            self._produce(messages)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            self._renew = self._renew or (err is not None and needs_new_producer(err))
            self._replace_if_needed()
            raise TransientError(f"produce refused: {exc}") from exc
        self._queued += len(messages)

    def wait_durable(self) -> None:
        """Send what is queued now and wait for every ack; TransientError if any failed."""
        if not self._queued:
            return
        remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        errors, self._errors = self._errors, []
        self._queued = 0
        if remaining or errors:
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
                        on_delivery=self._deliver,
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
