"""The poll loop pauses every assigned partition once the queue holds max_in_flight records and
resumes them at half; it asks the consumer for its assignment only for those two steps (the
client answers from its own thread, and asking on every pass held each record's hand-over)."""

from __future__ import annotations

from _stage_runner import stage_runner
from confluent_kafka import TopicPartition
from prometheus_client import REGISTRY

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"


class _Consumer:
    def __init__(self, assigned: list[TopicPartition]) -> None:
        self.assigned = assigned
        self.assignment_calls = 0
        self.paused: list[list[int]] = []
        self.resumed: list[list[int]] = []

    def assignment(self) -> list[TopicPartition]:
        self.assignment_calls += 1
        return self.assigned

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.append([tp.partition for tp in partitions])

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.resumed.append([tp.partition for tp in partitions])


def _runner(assigned: list[TopicPartition]) -> tuple[StageRunner, _Consumer]:
    return stage_runner(_Consumer(assigned), WorkerSettings(max_in_flight=4))


def _queue(runner: StageRunner, n: int) -> None:
    runner._queue.clear()
    runner._queue.extend(InRecord(TOPIC, 0, i, None, b"{}") for i in range(n))


def _gauges(runner: StageRunner) -> tuple[float | None, float | None]:
    """The exported queue depth and paused flag of the runner's stage."""
    return (
        REGISTRY.get_sample_value("inferstream_queue_depth", runner.labels),
        REGISTRY.get_sample_value("inferstream_partitions_paused", runner.labels),
    )


def test_pauses_when_full_resumes_at_half_and_asks_the_assignment_only_then() -> None:
    runner, consumer = _runner([TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])
    for depth in (0, 1, 3):  # below the limit: no question to the client
        _queue(runner, depth)
        runner._backpressure()
    assert consumer.assignment_calls == 0 and not runner._paused
    _queue(runner, 4)
    runner._backpressure()
    assert consumer.paused == [[0, 1]] and runner._paused
    assert _gauges(runner) == (4, 1)  # the series looked up once, at start, are the exported ones
    for depth in (4, 3):  # paused, above half: nothing to do
        _queue(runner, depth)
        runner._backpressure()
    assert consumer.assignment_calls == 1
    _queue(runner, 2)
    runner._backpressure()
    assert consumer.resumed == [[0, 1]] and not runner._paused
    assert consumer.assignment_calls == 2
    assert _gauges(runner) == (2, 0)


def test_a_full_queue_without_an_assignment_pauses_nothing_and_asks_again() -> None:
    runner, consumer = _runner([])
    _queue(runner, 4)
    runner._backpressure()
    runner._backpressure()
    assert consumer.paused == [] and not runner._paused
    assert consumer.assignment_calls == 2
