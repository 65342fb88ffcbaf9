"""Reviewers' decisions on the ``feedback.bug_report`` topic (``inferstream eval dedup
--from-feedback`` reads them back as labels).

One JSON record per decision, keyed by submission id (a submission's decisions stay in order
on one partition). The decision is published before its Postgres transaction commits: a broker
that does not take it fails the request and nothing is stored, so every stored decision is on
the topic (a commit that fails after the publish leaves a record without a row, which the
reader counts like any later-overridden decision: the last one per submission wins).
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer

from inferstream.api.models import Review
from inferstream.settings import KafkaSettings
from inferstream.topology import feedback_topic

FLUSH_TIMEOUT_S = 10.0
TOPIC = feedback_topic("bug_report")


class FeedbackUnavailableError(RuntimeError):
    """The broker did not acknowledge the decision."""


def feedback_record(
    review_id: int, submission_id: str, review: Review, model: dict[str, Any]
) -> dict[str, Any]:
    """What a decision publishes: the label, and the model verdict it confirms or corrects."""
    return {
        "review_id": review_id,
        "submission_id": submission_id,
        "decision": review.decision,
        "original_id": review.original_id,
        "model_status": review.model_status,
        "model_duplicate_of": review.model_duplicate_of,
        "dedup_profile": model.get("dedup_profile"),
        "dedup_profile_version": model.get("dedup_profile_version"),
        "decided_by": review.decided_by,
        "decided_at": review.decided_at.isoformat(),
    }


class FeedbackPublisher:
    """An idempotent producer (acks=all) for the feedback topic, shared by the API's threads."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._producer = Producer(settings.producer_config())
        self._lock = threading.Lock()

    def publish(self, record: dict[str, Any]) -> None:
        """Send and wait for the acknowledgement (raises FeedbackUnavailableError)."""
        failures: list[str] = []

        def delivered(err: KafkaError | None, _: Message) -> None:
            if err is not None:
                failures.append(err.str())

        with self._lock:  # one decision in flight at a time: flush waits only for this one
            self._producer.produce(
                TOPIC,
                value=orjson.dumps(record),
                key=str(record["submission_id"]).encode(),
                on_delivery=delivered,
            )
            remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        if remaining or failures:
            reason = failures[0] if failures else f"not acknowledged in {FLUSH_TIMEOUT_S:.0f} s"
            raise FeedbackUnavailableError(reason)
