"""A StageRunner with no broker behind it, for the runtime's unit tests (imported as
``_stage_runner``): a stage logic that does nothing with its records, a runner whose consumer
is never polled (the batching side's tests), and one whose consumer is the test's stand-in
(the poll loop's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import InRecord, Outcome
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"
C = TypeVar("C")


class NoopLogic:
    """Every record costs 1 and yields nothing."""

    stage = "enrich"
    task = "bug_report"

    def __init__(self, topic: str = TOPIC) -> None:
        self.input_topics: Sequence[str] = (topic,)

    def cost(self, record: InRecord) -> int:
        return 1

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return []


def stage_runner(
    consumer: C, worker: WorkerSettings, *, topic: str = TOPIC, background: bool = False
) -> tuple[StageRunner, C]:
    """A runner of ``NoopLogic`` on ``worker``'s settings, reading through ``consumer``."""
    runner = idle_runner(worker, topic=topic, background=background)
    runner.consumer = consumer  # type: ignore[assignment]
    return runner, consumer


def idle_runner(
    worker: WorkerSettings, *, topic: str = TOPIC, background: bool = False
) -> StageRunner:
    """A runner of ``NoopLogic`` on ``worker``'s settings whose consumer is never polled."""
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    health = HealthState(stale_after_s=30)
    return StageRunner(NoopLogic(topic), "g", kafka, worker, health, background=background)  # type: ignore[arg-type]
