"""The poll loop's commits do not wait for the broker: the interval's commit is asynchronous and
its answer, delivered through the consumer's on_commit during a later poll, settles it; a
failed answer is committed again when next due; the revoke's and shutdown's commits stay
synchronous; an answer that arrives after its partition was revoked changes nothing."""

from __future__ import annotations

from _stage_runner import stage_runner
from confluent_kafka import KafkaError, TopicPartition

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.runner import IDLE_POLL_S, StageRunner

TOPIC = "enriched.bug_report"
P0, P1 = (TOPIC, 0), (TOPIC, 1)


class _Consumer:
    """Commits are recorded; asynchronous ones are answered only when the test says so, as the
    client answers them during a later poll."""

    def __init__(self) -> None:
        self.commits: list[tuple[bool, list[tuple[str, int, int]]]] = []
        self.sync_errors: dict[tuple[str, int], KafkaError] = {}
        self.polls: list[float] = []

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> list[_Answer] | None:
        self.commits.append((asynchronous, [(tp.topic, tp.partition, tp.offset) for tp in offsets]))
        if asynchronous:
            return None
        # A synchronous commit answers per partition (the client's TopicPartition.error).
        return [
            _Answer(
                tp.topic, tp.partition, tp.offset, self.sync_errors.get((tp.topic, tp.partition))
            )
            for tp in offsets
        ]

    def poll(self, timeout: float) -> None:
        self.polls.append(timeout)

    def assignment(self) -> list[TopicPartition]:
        return []

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        return None


class _Answer:
    """What a commit answer's partition looks like to the callback."""

    def __init__(self, topic: str, partition: int, offset: int, error: KafkaError | None) -> None:
        self.topic, self.partition, self.offset, self.error = topic, partition, offset, error


def _runner() -> tuple[StageRunner, _Consumer]:
    worker = WorkerSettings(commit_interval_ms=0, poll_timeout_ms=100)
    runner, consumer = stage_runner(_Consumer(), worker, topic=TOPIC)
    runner.tracker.assign([P0, P1])
    return runner, consumer


def _done(runner: StageRunner, pos: tuple[str, int], *offsets: int) -> None:
    for offset in offsets:
        runner.tracker.polled(pos, offset)
        runner.tracker.done(pos, offset)


def _answer(
    runner: StageRunner, pos: tuple[str, int], offset: int, error: KafkaError | None
) -> None:
    runner._on_commit(None, [_Answer(pos[0], pos[1], offset, error)])  # type: ignore[list-item]


def test_the_interval_commit_does_not_wait_and_its_answer_settles_it() -> None:
    runner, consumer = _runner()
    _done(runner, P0, 0, 1)
    runner._commit()
    assert consumer.commits == [(True, [(TOPIC, 0, 2)])]
    runner._commit()  # on its way: not sent twice
    assert len(consumer.commits) == 1
    runner._poll_once()
    assert consumer.polls[-1] == 0.1  # the answer is still to come: the short wait
    _answer(runner, P0, 2, None)
    runner._commit()
    assert len(consumer.commits) == 1  # the broker holds it
    runner._poll_once()
    assert consumer.polls[-1] == IDLE_POLL_S


def test_a_failed_answer_is_committed_again() -> None:
    runner, consumer = _runner()
    _done(runner, P0, 0)
    runner._commit()
    _answer(runner, P0, 1, KafkaError(KafkaError.REQUEST_TIMED_OUT))
    runner._commit()
    assert consumer.commits == [(True, [(TOPIC, 0, 1)]), (True, [(TOPIC, 0, 1)])]


def test_the_revoke_commits_synchronously_past_one_on_its_way_and_ignores_its_late_answer() -> None:
    runner, consumer = _runner()
    _done(runner, P0, 0)
    _done(runner, P1, 0)
    runner._commit()  # both partitions, asynchronously, unanswered
    _done(runner, P0, 1)
    runner._on_revoke(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    assert consumer.commits[-1] == (False, [(TOPIC, 0, 2)])  # waited for, the newest offset
    _answer(runner, P0, 1, None)  # the earlier commit's answer, after the revoke
    assert runner.commits.acked(P0) is None and runner.commits.in_flight(P0) is None
    _answer(runner, P1, 1, None)  # the kept partition's answer still counts
    assert runner.commits.acked(P1) == 1


def test_a_partition_the_synchronous_commit_failed_is_committed_again() -> None:
    runner, consumer = _runner()
    _done(runner, P0, 0)
    _done(runner, P1, 0)
    consumer.sync_errors[P1] = KafkaError(KafkaError.COORDINATOR_NOT_AVAILABLE)
    runner._commit(force=True)
    assert runner.commits.acked(P0) == 1 and runner.commits.acked(P1) is None
    del consumer.sync_errors[P1]
    runner._commit(force=True)
    assert consumer.commits[-1] == (False, [(TOPIC, 1, 1)])
    assert runner.commits.settled(runner.tracker.committable())
