"""The archive's start-up topic check: a broker it cannot reach yet (the archive started before
it, or during an outage) is waited for like an absent topic, not an exit at start; a Kafka
error that is not transient still ends the worker."""

from __future__ import annotations

import pytest
import structlog
from confluent_kafka import KafkaError, KafkaException

from inferstream.errors import FatalStageError
from inferstream.workers.archive import driver
from inferstream.workers.archive.driver import ArchiveWorker


class _Unreachable:
    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def list_topics(self, topic: str, timeout: float) -> object:
        self.calls += 1
        raise KafkaException(KafkaError(self.code))


def _worker(consumer: _Unreachable) -> ArchiveWorker:
    worker = ArchiveWorker.__new__(ArchiveWorker)  # no broker, store or group needed here
    worker.topic = "results.bug_report"
    worker.consumer = consumer  # type: ignore[assignment]
    worker._stopping = False
    worker.log = structlog.get_logger("test")
    return worker


def test_an_unreachable_broker_is_waited_for_like_an_absent_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(driver, "TOPIC_WAIT_S", 0.0)
    consumer = _Unreachable(KafkaError._TRANSPORT)
    with pytest.raises(FatalStageError, match="does not exist after 0 s"):
        _worker(consumer)._check_topic()
    assert consumer.calls == 1


def test_a_kafka_error_that_is_not_transient_still_ends_the_worker() -> None:
    consumer = _Unreachable(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException):
        _worker(consumer)._check_topic()
