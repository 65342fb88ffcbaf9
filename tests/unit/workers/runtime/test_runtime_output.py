"""The output producer hands the client one delivery callback for every message (a new bound
method per message was an object per output in flight), and a failed delivery still fails the
group."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError

from inferstream.settings import KafkaSettings
from inferstream.workers.runtime.output import OutputProducer
from inferstream.workers.runtime.records import OutMessage, TransientError


class _Message:
    def topic(self) -> str:
        return "out"


class _Client:
    """Stands in for confluent_kafka.Producer: keeps each message's callback; flush() reports
    the deliveries, the ones listed in ``fail`` as failed."""

    def __init__(self, fail: set[int]) -> None:
        self.fail = fail
        self.callbacks: list[Any] = []

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.callbacks.append(kwargs["on_delivery"])

    def flush(self, timeout: float) -> int:
        for n, callback in enumerate(self.callbacks):
            err = KafkaError(KafkaError._MSG_TIMED_OUT) if n in self.fail else None
            callback(err, _Message())
        self.callbacks = []
        return 0


def _producer(fail: set[int]) -> tuple[OutputProducer, _Client]:
    producer = OutputProducer(KafkaSettings(bootstrap_servers="127.0.0.1:1"))
    client = _Client(fail)
    producer._producer = client  # type: ignore[assignment]
    return producer, client


def test_every_message_gets_the_same_delivery_callback() -> None:
    producer, client = _producer(set())
    producer.begin()
    producer.queue([OutMessage("out", b"k%d" % i, b"v", (("h", b"1"),)) for i in range(5)])
    assert len(client.callbacks) == 5
    assert all(callback is client.callbacks[0] for callback in client.callbacks)
    producer.wait_durable()  # every delivery succeeded


def test_a_failed_delivery_fails_the_group() -> None:
    producer, _ = _producer({3})
    producer.begin()
    producer.queue([OutMessage("out", b"k%d" % i, b"v") for i in range(5)])
    with pytest.raises(TransientError, match="0 outputs unacknowledged, 1 failed"):
        producer.wait_durable()
