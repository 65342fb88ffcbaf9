"""Between half the in-flight bound and the bound the poll loop holds instead of pausing: it
leaves the records in the client (a pause would drop the client's prefetch, which the resume
fetches again), takes at most one record per busy poll timeout while serving the client's
callbacks, and takes as usual once the stage has taken records. A stage that stays stalled
still reaches the bound, and the partitions pause."""

from __future__ import annotations

import threading

from _stage_runner import stage_runner
from confluent_kafka import Message, TopicPartition

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"


class _Consumer:
    """The client: records fetched and not yet taken, and each call the loop made."""

    def __init__(self, fetched: int) -> None:
        self.fetched = [
            Message(topic=TOPIC, partition=0, offset=100 + i, key=b"k", value=b"{}")
            for i in range(fetched)
        ]
        self.polls: list[float] = []
        self.consumes: list[int] = []
        self.paused: list[list[int]] = []

    def poll(self, timeout: float) -> Message | None:
        self.polls.append(timeout)
        return self.fetched.pop(0) if self.fetched else None

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.consumes.append(num_messages)
        taken, self.fetched = self.fetched[:num_messages], self.fetched[num_messages:]
        return taken

    def commit(self, *, offsets: object, asynchronous: bool) -> None:
        return None

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.append([tp.partition for tp in partitions])


class _StageTakes(threading.Event):
    """The runner's stop event: the first wait of the hold is when the stage takes the queue."""

    def __init__(self, runner: StageRunner) -> None:
        super().__init__()
        self.runner = runner
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        self.runner._queue.clear()
        return False


def _runner(queued: int, fetched: int) -> tuple[StageRunner, _Consumer]:
    worker = WorkerSettings(max_in_flight=8, poll_timeout_ms=20, commit_interval_ms=60_000)
    runner, consumer = stage_runner(_Consumer(fetched), worker)
    runner.tracker.assign([(TOPIC, 0)])
    runner._queue.extend(InRecord(TOPIC, 0, i, None, b"{}") for i in range(queued))
    for i in range(queued):
        runner.tracker.polled((TOPIC, 0), i)
    return runner, consumer


def test_below_half_the_bound_the_loop_takes_a_pass_as_usual() -> None:
    runner, consumer = _runner(queued=3, fetched=10)
    runner._poll_once()
    assert consumer.consumes == [4]  # room up to the bound (8 - 3), the first by poll
    assert len(runner._queue) == 8 and len(consumer.fetched) == 5


def test_at_half_the_bound_the_loop_holds_and_takes_one_record_per_poll_timeout() -> None:
    runner, consumer = _runner(queued=4, fetched=10)
    runner._poll_once()
    assert consumer.polls == [0]  # callbacks served without a wait, one record at most
    assert consumer.consumes == []
    assert len(runner._queue) == 5 and len(consumer.fetched) == 9
    assert consumer.paused == [] and not runner._paused


def test_the_hold_ends_as_soon_as_the_stage_takes_records() -> None:
    runner, consumer = _runner(queued=6, fetched=10)
    stop = _StageTakes(runner)
    runner._stop = stop
    runner._poll_once()
    assert stop.waits == 1
    assert consumer.consumes == [7]  # the queue emptied: a full pass (8 - 0)
    assert len(runner._queue) == 8


def test_a_stalled_stage_reaches_the_bound_and_pauses() -> None:
    runner, consumer = _runner(queued=4, fetched=10)
    for _ in range(4):
        runner._poll_once()
    assert consumer.consumes == [] and len(runner._queue) == 8
    assert consumer.paused == [[0]] and runner._paused
    # Paused: the loop polls with its busy wait again (nothing is delivered while paused).
    consumer.fetched.clear()
    runner._poll_once()
    assert consumer.polls[-1] == 0.02
