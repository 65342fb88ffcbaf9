"""An empty assignment (a cooperative rebalance that gives this member nothing new) during a
dependency outage: no start-offset lookup, so it neither fails nor pushes back the retry of the
partitions already waiting for theirs."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from confluent_kafka import TopicPartition

from inferstream.errors import TransientError
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import InRecord, Outcome
from inferstream.workers.runtime.runner import StageRunner
from inferstream.workers.runtime.watermark import Position

TOPIC = "results.bug_report"


class _Logic:
    stage = "sink"
    task = "bug_report"
    input_topics: Sequence[str] = (TOPIC,)

    def __init__(self) -> None:
        self.down = True
        self.lookups: list[list[Position]] = []

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return []

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int]:
        self.lookups.append(list(positions))
        if self.down:
            raise TransientError("Postgres unavailable")
        return {pos: 100 + pos[1] for pos in positions}


class _Consumer:
    def __init__(self) -> None:
        self.assigned: list[list[tuple[str, int, int]]] = []

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned.append([(tp.topic, tp.partition, tp.offset) for tp in partitions])


def test_an_empty_assignment_in_an_outage_leaves_the_waiting_partitions_retry_alone() -> None:
    logic = _Logic()
    # Delays of seconds (1 s, then up to 2, 4, 8 s): a failed try pushes the retry visibly.
    worker = WorkerSettings(backoff_initial_ms=1000, backoff_max_ms=8000)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    runner = StageRunner(logic, "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
    consumer = _Consumer()
    runner.consumer = consumer  # type: ignore[assignment]

    started = time.monotonic()
    runner._on_assign(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    assert runner._deferred.waiting() == [(TOPIC, 0)]
    first_retry = started + 1.0 + 0.5  # the first delay is at most 1 s (and a margin)

    for _ in range(3):  # rebalances that bring this member nothing
        runner._on_assign(consumer, [])  # type: ignore[arg-type]
    assert logic.lookups == [[(TOPIC, 0)]]  # no lookup for an empty assignment
    assert runner._deferred.waiting() == [(TOPIC, 0)]
    assert runner._deferred.due(first_retry) == [(TOPIC, 0)]  # its retry was not pushed back

    logic.down = False  # Postgres is back: the waiting partition starts on its first retry
    runner._deferred._retry_at = 0.0  # as if the delay had passed
    runner._start_deferred()
    assert consumer.assigned[-1] == [(TOPIC, 0, 100)]
    assert runner._deferred.waiting() == []
