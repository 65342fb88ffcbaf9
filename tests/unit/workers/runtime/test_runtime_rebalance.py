"""The runner's rebalance callbacks (rebalance.py): where an assigned partition starts, what a
revoked one drops and commits, and partitions whose start offsets wait for a dependency."""

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
        self.down = False
        self.lookups: list[list[Position]] = []

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return []

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int]:
        self.lookups.append(list(positions))
        if self.down:
            raise TransientError("Postgres unavailable")
        return {pos: 100 + pos[1] for pos in positions}


class _Consumer:
    """Records what the runner asks of the consumer in its callbacks."""

    def __init__(self) -> None:
        self.assigned: list[list[tuple[str, int, int]]] = []
        self.unassigned: list[list[tuple[str, int]]] = []
        self.commits: list[list[tuple[str, int, int]]] = []

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned.append([(tp.topic, tp.partition, tp.offset) for tp in partitions])

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        self.unassigned.append([(tp.topic, tp.partition) for tp in partitions])

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


def _runner(worker: WorkerSettings | None = None) -> tuple[StageRunner, _Logic, _Consumer]:
    logic = _Logic()
    worker = worker or WorkerSettings(backoff_initial_ms=1, backoff_max_ms=1)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    runner = StageRunner(logic, "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
    consumer = _Consumer()
    runner.consumer = consumer  # type: ignore[assignment]
    return runner, logic, consumer


def _tps(*partitions: int) -> list[TopicPartition]:
    return [TopicPartition(TOPIC, p) for p in partitions]


def test_assigned_partitions_start_at_the_stored_offsets() -> None:
    runner, _, consumer = _runner()
    runner._on_assign(consumer, _tps(0, 1))  # type: ignore[arg-type]
    assert consumer.assigned == [[(TOPIC, 0, 100), (TOPIC, 1, 101)]]


def test_during_an_outage_partitions_wait_unfetched_then_start_exactly() -> None:
    runner, logic, consumer = _runner()
    logic.down = True
    runner._on_assign(consumer, _tps(0, 1))  # type: ignore[arg-type]
    assert consumer.assigned == [[]]  # in the group, nothing fetched
    runner._start_deferred()  # still down: nothing assigned
    assert consumer.assigned == [[]]
    logic.down = False
    deadline = time.monotonic() + 5.0
    while len(consumer.assigned) == 1 and time.monotonic() < deadline:  # the 1 ms backoff
        runner._start_deferred()  # what the poll loop calls after every poll
    assert consumer.assigned[1] == [(TOPIC, 0, 100), (TOPIC, 1, 101)]


def test_revoking_a_waiting_partition_unassigns_only_the_local_ones() -> None:
    runner, logic, consumer = _runner()
    runner._on_assign(consumer, _tps(0))  # type: ignore[arg-type]
    logic.down = True
    runner._on_assign(consumer, _tps(1))  # type: ignore[arg-type]  # waits
    runner._on_revoke(consumer, _tps(0, 1))  # type: ignore[arg-type]
    assert consumer.unassigned == [[(TOPIC, 0)]]  # 1 was never in the local assignment
    assert runner._deferred.waiting() == []


def test_a_revoke_drops_queued_records_and_commits_only_what_is_done() -> None:
    runner, _, consumer = _runner()
    runner._on_assign(consumer, _tps(0, 1))  # type: ignore[arg-type]
    for partition, offset in ((0, 100), (0, 101), (1, 101)):
        runner.tracker.polled((TOPIC, partition), offset)
        runner._queue.append(InRecord(TOPIC, partition, offset, None, b"{}"))
    runner.tracker.done((TOPIC, 0), 100)  # 101 was never processed
    runner._on_revoke(consumer, _tps(0))  # type: ignore[arg-type]
    assert [r.position for r in runner._queue] == [(TOPIC, 1)]  # partition 0's left with it
    assert consumer.commits == [[(TOPIC, 0, 101)]]  # up to the done record, not past it


def test_an_empty_assignment_in_an_outage_leaves_the_waiting_partitions_retry_alone() -> None:
    # A cooperative rebalance that brings this member nothing looks up no start offsets, so it
    # neither fails nor pushes back the retry of the partitions already waiting for theirs.
    # Delays of seconds (1 s, then up to 2, 4, 8 s): a failed try pushes the retry visibly.
    runner, logic, consumer = _runner(WorkerSettings(backoff_initial_ms=1000, backoff_max_ms=8000))
    logic.down = True
    started = time.monotonic()
    runner._on_assign(consumer, _tps(0))  # type: ignore[arg-type]
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
