"""The monitor stage's consumer: a group on results.<task>, enriched.<task>, feedback.<task>
and the dead-letter topic (a failed inference names its version there: the error rate)
(on the project's runner, like the sink) whose counts go to Postgres in the transaction that
stores its offsets. The evaluation runs beside it on a timer (inferstream.monitor.evaluator),
so the gauges and the canary check keep going when traffic stops."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import psycopg
import structlog

from inferstream.errors import TransientError
from inferstream.monitor.catalog import Catalog
from inferstream.monitor.records import (
    Unusable,
    add_error,
    add_feedback,
    add_inputs,
    add_result,
    record_time,
    result_model,
)
from inferstream.monitor.spec import TaskSpec
from inferstream.monitor.state import Delta, MonitorState
from inferstream.settings.monitor import MonitorSettings
from inferstream.topology import DEADLETTER_TOPIC, feedback_topic, topic_name
from inferstream.workers.runtime.deadletter import MODEL_HEADER, MODEL_VERSION_HEADER
from inferstream.workers.runtime.headers import SUBMITTED_AT
from inferstream.workers.runtime.logic import StageLogic
from inferstream.workers.runtime.records import Emit, InRecord, Outcome
from inferstream.workers.runtime.watermark import Position

log = structlog.get_logger("inferstream.monitor")
OFFSET_BEGINNING = -2


class MonitorLogic(StageLogic):
    stage = "monitor"

    def __init__(
        self,
        spec: TaskSpec,
        state: MonitorState,
        catalog: Catalog,
        settings: MonitorSettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.spec, self.task = spec, spec.task
        self.state, self.catalog, self.settings, self.now = state, catalog, settings, now
        self.topics = {
            "results": topic_name("results", spec.task),
            "enriched": topic_name("enriched", spec.task),
            "feedback": feedback_topic(spec.task),
            "deadletter": DEADLETTER_TOPIC,
        }
        self._production: str | None = None
        self._production_until = 0.0
        self.skipped = 0

    @property
    def input_topics(self) -> Sequence[str]:
        return list(self.topics.values())

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        delta = Delta()
        for record in batch:
            previous = delta.offsets.get(record.position, -1)
            delta.offsets[record.position] = max(previous, record.offset + 1)
            try:
                self._count(delta, record)
            except Unusable as err:
                self.skipped += 1
                log.warning("record not counted", topic=record.topic, reason=str(err))
        try:
            self.state.write(delta)
        except psycopg.OperationalError as err:
            raise TransientError(f"Postgres unavailable: {err}") from err
        return [Emit() for _ in batch]

    def _count(self, delta: Delta, record: InRecord) -> None:
        at = record_time(record.timestamp_ms, self.now)
        bucket_s = self.settings.bucket_s
        if record.topic == self.topics["results"]:
            parsed = result_model(record.value, self.spec)
            reference = self.catalog.reference(parsed[0], parsed[1])
            add_result(delta, parsed, reference, record.header(SUBMITTED_AT), bucket_s)
        elif record.topic == self.topics["enriched"]:
            version = self._production_version()
            reference = self.catalog.reference(self.spec.model_name, version) if version else None
            if reference is not None and version is not None:
                model = (self.spec.model_name, version)
                add_inputs(
                    delta, record.value, at, model, reference, bucket_s, self.spec.inputs_field
                )
        elif record.topic == self.topics["deadletter"]:
            self._count_error(delta, record, at)
        else:
            add_feedback(delta, record.value, at)

    def _count_error(self, delta: Delta, record: InRecord, at: datetime) -> None:
        """Dead letters of every task and stage share one topic: only this task's failed
        inferences (infer's input, naming the model version) count, the rest are not the
        monitor's. Any model name, as for results: a version is (name, version)."""
        name, version = record.header(MODEL_HEADER), record.header(MODEL_VERSION_HEADER)
        origin = record.header("x-original-topic")
        if name and version and origin == self.topics["enriched"]:
            add_error(delta, (name, version), at, self.settings.bucket_s)

    def _production_version(self) -> str | None:
        """The version inputs are counted under; re-read every evaluation period, so a
        promotion moves the counting to the new version's reference."""
        if time.monotonic() >= self._production_until:
            self._production = self.catalog.production(self.spec.model_name)
            self._production_until = time.monotonic() + self.settings.evaluate_every_s
        return self._production

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int]:
        """The offsets stored with the counts: a restart neither loses nor recounts a record."""
        try:
            stored = self.state.stored_offsets(positions)
        except psycopg.OperationalError as err:
            raise TransientError(f"Postgres unavailable for the stored offsets: {err}") from err
        return {pos: stored.get(pos, OFFSET_BEGINNING) for pos in positions}

    def ready(self) -> tuple[bool, str]:
        try:
            self.state.stored_offsets([])
        except psycopg.OperationalError as err:
            return False, f"Postgres unreachable: {err}"
        return True, "ok"

    def close(self) -> None:
        self.state.close()
