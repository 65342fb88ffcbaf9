"""The chaos run's producer side: publish under faults, and re-send what the broker refused.

The embedded Tansu on ``s3://`` refuses writes while S3 is down or frozen, and afterwards fences
the idempotent producer that saw them ("There is a newer producer with the same transactionalId
which fences the current one"): every later record of that producer fails too. The workers
replace such a producer (workers/runtime/output.py); a run that publishes across an S3 fault
must do the same, or it fails on its own client (seed 3, 2026-12-06: 131 reports refused after
the S3 outage at 21 s). So every refused record is re-sent by a new producer (a new producer
id) until the broker has acknowledged each submission once, or the deadline passes. Re-sending
is safe: the submission id is the idempotency key, so a record that did land twice is one row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from inferstream.client import PublishError
from inferstream.schemas import build_envelope, encode, make_headers
from inferstream.settings import KafkaSettings
from inferstream.topology import topic_name

FINISH_TIMEOUT_S = 300.0


class ResilientPublisher:
    """``publish`` then ``finish``; ``acknowledged``: submissions the broker accepted."""

    def __init__(self, task: str, source: str, kafka: KafkaSettings | None = None) -> None:
        self.task = task
        self.source = source
        self.topic = topic_name("submissions", task)
        self._config = (kafka or KafkaSettings.load()).producer_config()
        self._values: dict[str, tuple[bytes, int]] = {}  # submission id -> (envelope, version)
        self._failed: set[str] = set()
        self._lock = threading.Lock()  # delivery callbacks run inside poll/flush
        self.acknowledged: set[str] = set()
        self.replaced = 0  # producers replaced after a refusal
        self._producer = Producer(self._config)

    def publish(self, payload: Mapping[str, Any], submission_id: str) -> None:
        envelope = build_envelope(
            self.task, payload, submission_id=submission_id, source=self.source
        )
        self._values[submission_id] = (encode(envelope), envelope.schema_version)
        self._send(submission_id)
        self._producer.poll(0)
        self._resend_failed()

    def finish(self, stop: threading.Event, timeout_s: float = FINISH_TIMEOUT_S) -> int:
        """Until every submission is acknowledged (re-sending refused ones); the count."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._producer.flush(min(30.0, max(0.1, deadline - time.monotonic())))
            with self._lock:
                self._failed.clear()
            waiting = self._outstanding()
            if not waiting:
                return len(self.acknowledged)
            if stop.is_set() or time.monotonic() > deadline:
                raise PublishError(
                    f"{len(waiting)} {self.task} submissions not acknowledged after "
                    f"{self.replaced} producer replacements"
                )
            self._replace()  # refused, or unanswered for 30 s: a new producer sends them again

    def _send(self, sid: str) -> None:
        value, version = self._values[sid]
        headers: list[tuple[str, str | bytes]] = list(make_headers(version))
        while True:
            try:
                self._producer.produce(
                    self.topic, value, sid.encode(), headers=headers, on_delivery=self._on_delivery
                )
                return
            except BufferError:
                self._producer.poll(0.1)  # local queue full: serve delivery reports

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        key = msg.key()
        sid = key.decode() if isinstance(key, bytes) else ""
        with self._lock:
            if err is None:
                self.acknowledged.add(sid)
            elif sid not in self.acknowledged:
                self._failed.add(sid)

    def _outstanding(self) -> set[str]:
        with self._lock:
            return set(self._values) - self.acknowledged

    def _resend_failed(self) -> None:
        """A refusal fences this producer: replace it as soon as one is reported."""
        with self._lock:
            refused, self._failed = bool(self._failed - self.acknowledged), set()
        if refused:
            self._replace()

    def _replace(self) -> None:
        """A new producer (new producer id) sends every record not acknowledged yet: those
        queued in the fenced one would otherwise never be answered (its callbacks may still
        report some as delivered; a record that lands twice is still one submission)."""
        old, self._producer = self._producer, Producer(self._config)
        old.flush(5.0)
        old.purge()  # what it still holds is sent again below
        old.flush(0)
        with self._lock:
            self._failed.clear()  # the purged ones: not acknowledged, so outstanding
        self.replaced += 1
        for sid in sorted(self._outstanding()):
            self._send(sid)
