"""The poll loop hands a record over as soon as it arrives (not at the end of a fixed wait),
takes what else is already fetched without waiting, and blocks longer only while it has
nothing in flight (an idle worker wakes once a second, not ten times)."""

from __future__ import annotations

import pytest
from _stage_runner import stage_runner
from confluent_kafka import KafkaError, Message

from inferstream.errors import FatalStageError
from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.runner import IDLE_POLL_S, StageRunner

TOPIC = "submissions.bug_report"


class _Consumer:
    """Stands in for the consumer's poll/consume/commit: records each wait asked for."""

    def __init__(self, fetched: list[Message]) -> None:
        self.fetched = fetched
        self.polls: list[float] = []
        self.consumes: list[tuple[int, float]] = []

    def poll(self, timeout: float) -> Message | None:
        self.polls.append(timeout)
        return self.fetched.pop(0) if self.fetched else None

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.consumes.append((num_messages, timeout))
        taken, self.fetched = self.fetched[:num_messages], self.fetched[num_messages:]
        return taken

    def commit(self, *, offsets: object, asynchronous: bool) -> None:
        return None

    def assignment(self) -> list[object]:
        return []


def _runner(fetched: list[Message]) -> tuple[StageRunner, _Consumer]:
    worker = WorkerSettings(poll_timeout_ms=100, commit_interval_ms=60_000)
    runner, consumer = stage_runner(_Consumer(fetched), worker)
    runner.tracker.assign([(TOPIC, 0)])
    return runner, consumer


def _messages(n: int) -> list[Message]:
    return [Message(topic=TOPIC, partition=0, offset=i, key=b"k", value=b"{}") for i in range(n)]


def test_an_idle_worker_waits_long_and_takes_nothing_more() -> None:
    runner, consumer = _runner([])
    runner._poll_once()
    assert consumer.polls == [IDLE_POLL_S]
    assert IDLE_POLL_S > 0.1
    assert consumer.consumes == []  # nothing arrived: no second call


def test_a_record_is_handed_over_with_what_is_already_fetched_without_waiting() -> None:
    runner, consumer = _runner(_messages(7))
    runner._poll_once()
    assert consumer.consumes == [(499, 0)]  # the rest of the fetched records, no wait
    assert [r.offset for r in runner._queue] == list(range(7))
    # Records in flight: the next wait is the short one (their commit may come due).
    runner._poll_once()
    assert consumer.polls[-1] == 0.1


def test_the_wait_stays_short_until_what_finished_is_committed() -> None:
    runner, consumer = _runner(_messages(1))
    runner._poll_once()
    runner._queue.clear()  # taken by the batcher
    runner._done.put([((TOPIC, 0), 0)])
    runner._poll_once()  # drains the done offset; the commit waits for its interval
    assert consumer.polls[-1] == 0.1
    runner._poll_once()
    assert consumer.polls[-1] == 0.1  # done but not committed yet
    runner._commit(force=True)
    runner._poll_once()
    assert consumer.polls[-1] == IDLE_POLL_S


def test_a_paused_worker_keeps_the_short_wait() -> None:
    runner, consumer = _runner([])
    runner._paused = True
    runner._poll_once()
    assert consumer.polls == [0.1]


def test_the_room_left_bounds_what_is_taken() -> None:
    runner, consumer = _runner(_messages(5))
    runner.worker = WorkerSettings(max_in_flight=3, poll_timeout_ms=100)
    runner._poll_once()
    assert consumer.consumes == [(2, 0)]
    assert len(runner._queue) == 3


def test_a_runner_off_the_latency_path_takes_the_background_fetch_wait() -> None:
    latency, _ = stage_runner(None, WorkerSettings())
    monitor, _ = stage_runner(None, WorkerSettings(), background=True)
    assert (latency.background, monitor.background) == (False, True)


def test_errors_in_a_poll_are_skipped_and_its_records_queued_and_tracked_in_order() -> None:
    eof = Message(topic=TOPIC, partition=0, error=KafkaError(KafkaError._PARTITION_EOF))
    transient = Message(topic=TOPIC, partition=0, error=KafkaError(KafkaError._TRANSPORT))
    fetched = _messages(4)
    runner, _ = _runner([fetched[0], eof, fetched[1], transient, *fetched[2:]])
    runner._poll_once()
    assert [(r.topic, r.partition, r.offset) for r in runner._queue] == [
        (TOPIC, 0, offset) for offset in range(4)
    ]
    assert runner.tracker.in_flight((TOPIC, 0)) == 4


def test_a_fatal_error_stops_the_loop() -> None:
    fatal = KafkaError(KafkaError._FATAL, "fenced", fatal=True)
    runner, _ = _runner([*_messages(1), Message(topic=TOPIC, partition=0, error=fatal)])
    with pytest.raises(FatalStageError, match="fenced"):
        runner._poll_once()
