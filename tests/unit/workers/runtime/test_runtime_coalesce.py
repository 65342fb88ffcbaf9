"""Under backlog, a stage that allows it runs the batches already prepared behind a batch and
makes all their outputs durable with one flush (fewer, larger produce requests); a stage that
does not (infer: its next batch must see the last one's results in the dedup index) flushes
every batch on its own, and a retried group is rerun as it was."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from inferstream.errors import TransientError
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.batching import Batch
from inferstream.workers.runtime.core import Prepared
from inferstream.workers.runtime.cycle import COALESCE_MAX_BATCHES
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"


class _Logic:
    stage = "enrich"
    task = "bug_report"
    input_topics: Sequence[str] = (TOPIC,)

    def __init__(self, coalesce: bool) -> None:
        self.coalesce_outputs = coalesce
        self.processed: list[list[int]] = []
        self.durable: list[list[int]] = []

    def prepare(self, batch: Sequence[InRecord]) -> object:
        return None

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        self.processed.append([r.offset for r in batch])
        return [Emit((OutMessage("enriched.bug_report", r.key, r.value),)) for r in batch]

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        self.durable.append([r.offset for r in batch])


class _Output:
    """Stands in for the output producer: which messages each flush made durable."""

    def __init__(self, fail_flushes: int = 0) -> None:
        self.flushes: list[list[bytes]] = []
        self._queued: list[bytes] = []
        self._fail = fail_flushes
        self.on_failure: Callable[[], None] = lambda: None

    def begin(self) -> None:
        self._queued = []

    def queue(self, messages: Sequence[OutMessage]) -> None:
        self._queued += [m.value for m in messages]

    def wait_durable(self) -> None:
        if self._fail:
            self._fail -= 1
            self.on_failure()
            raise TransientError("broker unavailable")
        self.flushes.append(self._queued)


def _runner(logic: _Logic, output: _Output, wait_ms: int = 50) -> StageRunner:
    worker = WorkerSettings(batch_max_wait_ms=wait_ms, backoff_initial_ms=1, backoff_max_ms=1)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    runner = StageRunner(logic, "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
    runner.output = output  # type: ignore[assignment]
    runner._prepared.maxsize = 0  # hold every prepared batch, as a long backlog would
    return runner


def _batch(first: int, size: int = 4) -> Prepared:
    records = [
        InRecord(TOPIC, 0, offset, str(offset).encode(), b"v%d" % offset)
        for offset in range(first, first + size)
    ]
    return Prepared(Batch(items=records), None)


def _run(runner: StageRunner, batches: int) -> None:
    for n in range(1, batches):
        runner._prepared.put(_batch(4 * n))
    assert runner._handle(_batch(0))


def _done_offsets(runner: StageRunner) -> list[int]:
    offsets: list[int] = []
    while not runner._done.empty():
        offsets += [offset for _, offset in runner._done.get()]
    return offsets


def test_a_coalescing_stage_flushes_the_prepared_batches_together() -> None:
    logic, output = _Logic(coalesce=True), _Output()
    runner = _runner(logic, output)
    _run(runner, 3)
    assert len(output.flushes) == 1
    assert output.flushes[0] == [b"v%d" % offset for offset in range(12)]
    assert logic.durable == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert _done_offsets(runner) == list(range(12))


def test_a_stage_that_does_not_coalesce_flushes_each_batch() -> None:
    logic, output = _Logic(coalesce=False), _Output()
    runner = _runner(logic, output)
    _run(runner, 3)
    assert output.flushes == [[b"v0", b"v1", b"v2", b"v3"]]
    assert runner._prepared.qsize() == 2  # the next batches wait for their own turn
    assert _done_offsets(runner) == [0, 1, 2, 3]


def test_a_group_is_bounded_by_the_batch_count() -> None:
    logic, output = _Logic(coalesce=True), _Output()
    runner = _runner(logic, output)
    _run(runner, COALESCE_MAX_BATCHES + 2)
    assert len(output.flushes[0]) == 4 * COALESCE_MAX_BATCHES
    assert runner._prepared.qsize() == 2


def test_no_batch_wait_means_no_coalescing() -> None:
    # The group may hold a record back by at most the batch wait: zero wait, no group.
    logic, output = _Logic(coalesce=True), _Output()
    runner = _runner(logic, output, wait_ms=0)
    _run(runner, 3)
    assert len(output.flushes[0]) == 4


@pytest.mark.parametrize("failures", [1, 2])
def test_a_failed_flush_reruns_the_same_group(failures: int) -> None:
    logic, output = _Logic(coalesce=True), _Output(fail_flushes=failures)
    runner = _runner(logic, output)
    # A batch prepared during the backoff waits for the next group (the retry reruns the
    # group as it was, so what was processed is what becomes durable).
    output.on_failure = lambda: runner._prepared.put(_batch(100 * failures + len(logic.processed)))
    _run(runner, 2)
    assert logic.processed[:2] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(logic.processed) == 2 * (failures + 1)
    assert output.flushes == [[b"v%d" % offset for offset in range(8)]]
    assert logic.durable == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert _done_offsets(runner) == list(range(8))
    assert runner._prepared.qsize() == failures
