"""Dead-letter messages (original bytes + reason headers) and the bound on their rate."""

from __future__ import annotations

from collections import deque

from inferstream.topology import DEADLETTER_TOPIC
from inferstream.workers.runtime.records import FatalStageError, InRecord, OutMessage, Reject

MAX_REASON_BYTES = 2000
# x-error-*: replaced, not kept, when a dead letter is dead-lettered again.
MODEL_HEADER = "x-error-model"
MODEL_VERSION_HEADER = "x-error-model-version"


def deadletter_message(stage: str, record: InRecord, reject: Reject) -> OutMessage:
    """The original key, value and headers, plus where it came from and why it was rejected."""
    reason = reject.reason.encode(errors="replace")[:MAX_REASON_BYTES]
    kept = tuple((k, v) for k, v in record.headers if not k.lower().startswith("x-error-"))
    headers = (
        *kept,
        ("x-error-stage", stage.encode()),
        ("x-error-kind", reject.kind.encode()),
        ("x-error-reason", reason),
        ("x-original-topic", record.topic.encode()),
        ("x-original-partition", str(record.partition).encode()),
        ("x-original-offset", str(record.offset).encode()),
        *_model_headers(reject.model),
    )
    return OutMessage(DEADLETTER_TOPIC, record.key, record.value, headers)


def _model_headers(model: tuple[str, str] | None) -> tuple[tuple[str, bytes], ...]:
    """The model version whose inference failed (the monitor's error rate per version)."""
    if model is None:
        return ()
    return ((MODEL_HEADER, model[0].encode()), (MODEL_VERSION_HEADER, model[1].encode()))


class DeadLetterRateGuard:
    """Stops the stage when more than max_per_minute records are rejected in any 60 s window.

    A flood of rejections usually means a broken producer or a bad deploy; stopping keeps the
    records in the input topic instead of moving them all to the dead-letter topic.
    """

    def __init__(self, max_per_minute: int, window_s: float = 60.0) -> None:
        self.max_per_minute = max_per_minute
        self.window_s = window_s
        self._times: deque[float] = deque()

    def record(self, now: float, count: int = 1) -> None:
        for _ in range(count):
            self._times.append(now)
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()
        if len(self._times) > self.max_per_minute:
            raise FatalStageError(
                f"dead-letter rate exceeded: {len(self._times)} rejections in the last "
                f"{self.window_s:.0f}s (limit INFERSTREAM_WORKER_DLQ_MAX_PER_MINUTE="
                f"{self.max_per_minute}); stopping without committing past them"
            )
