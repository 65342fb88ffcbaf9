"""The runner commits done offsets at most once per commit interval (each commit is a broker
write per partition: one S3 object each on the embedded Tansu), asynchronously, at once and
synchronously when forced (rebalance, shutdown), and never offsets it has already committed."""

from __future__ import annotations

from _stage_runner import stage_runner
from confluent_kafka import TopicPartition

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.runner import StageRunner


class _RecordingConsumer:
    """Stands in for the consumer's commit call only: what the runner asked to commit."""

    def __init__(self) -> None:
        self.commits: list[list[tuple[str, int, int]]] = []
        self.modes: list[bool] = []  # asynchronous?

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.modes.append(asynchronous)
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


def _runner(interval_ms: int) -> tuple[StageRunner, _RecordingConsumer]:
    runner, recorder = stage_runner(
        _RecordingConsumer(), WorkerSettings(commit_interval_ms=interval_ms)
    )
    runner.tracker.assign([("submissions.bug_report", 0)])
    return runner, recorder


def _done(runner: StageRunner, offset: int) -> None:
    runner.tracker.polled(("submissions.bug_report", 0), offset)
    runner.tracker.done(("submissions.bug_report", 0), offset)


def test_commits_wait_for_the_interval_unless_forced() -> None:
    runner, recorder = _runner(interval_ms=60_000)
    _done(runner, 0)
    runner._commit()  # the first commit of a worker is due at once
    assert recorder.commits == [[("submissions.bug_report", 0, 1)]]
    _done(runner, 1)
    runner._commit()  # within the interval: nothing
    assert len(recorder.commits) == 1
    runner._commit(force=True)  # rebalance or shutdown
    assert recorder.commits[-1] == [("submissions.bug_report", 0, 2)]
    runner._commit(force=True)  # nothing new: no broker write
    assert len(recorder.commits) == 2
    assert recorder.modes == [True, False]  # the interval's commit does not wait, forced ones do


def test_zero_interval_commits_every_poll() -> None:
    runner, recorder = _runner(interval_ms=0)
    for offset in range(3):
        _done(runner, offset)
        runner._commit()
        # The client's answer, as the next poll delivers it (one commit at a time per partition).
        runner._on_commit(None, [TopicPartition("submissions.bug_report", 0, offset + 1)])
    assert [c[0][2] for c in recorder.commits] == [1, 2, 3]


def test_default_interval_is_kafkas_auto_commit_interval() -> None:
    assert WorkerSettings().commit_interval_ms == 5_000
