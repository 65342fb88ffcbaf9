"""The batch cycle's one failure policy, on its prepare and run threads (the poll loop is left
out: records are queued by hand): a transient failure retries the same records with backoff,
dead-letters nothing and reports no offset done until they succeed; a PoisonBatchError from
prepare is bisected to the records to blame, which alone are dead-lettered; anything else
stops the worker with nothing done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import psycopg
import pytest

from inferstream.errors import PoisonBatchError
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.topology import DEADLETTER_TOPIC
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "enriched.media"
POISON = b"poison"
Failure = Callable[[Sequence[InRecord]], None]


def _never(batch: Sequence[InRecord]) -> None:
    return None


class _Logic:
    stage = "infer"
    task = "media"
    input_topics: Sequence[str] = (TOPIC,)

    def __init__(self, prepare_fails: Failure = _never, process_fails: Failure = _never) -> None:
        self.prepare_fails = prepare_fails
        self.process_fails = process_fails
        self.prepares: list[list[int]] = []

    def cost(self, record: InRecord) -> int:
        return 1

    def prepare(self, batch: Sequence[InRecord]) -> object:
        self.prepares.append([r.offset for r in batch])
        self.prepare_fails(batch)
        return [r.offset for r in batch]

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        assert prepared == [r.offset for r in batch]  # what prepare made of these records
        self.process_fails(batch)
        return [Emit((OutMessage("results.media", r.key, r.value),)) for r in batch]

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        return None


class _Output:
    """Stands in for the output producer: the messages made durable, in order."""

    def __init__(self) -> None:
        self.durable: list[OutMessage] = []
        self._queued: list[OutMessage] = []

    def begin(self) -> None:
        self._queued = []

    def queue(self, messages: Sequence[OutMessage]) -> None:
        self._queued += messages

    def wait_durable(self) -> None:
        self.durable += self._queued


def _failing(times: int, make: Callable[[], Exception]) -> Failure:
    left = [times]

    def fail(batch: Sequence[InRecord]) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise make()

    return fail


def _poisoned(batch: Sequence[InRecord]) -> None:
    if any(r.value == POISON for r in batch):
        raise PoisonBatchError("cannot decode") from ValueError("corrupt image")


class _Cycle:
    """A runner's prepare and run threads over records queued by hand."""

    def __init__(self, logic: _Logic, n: int, poison: int | None = None) -> None:
        worker = WorkerSettings(
            batch_max_items=n, batch_max_wait_ms=1, backoff_initial_ms=1, backoff_max_ms=5
        )
        kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
        self.runner = StageRunner(logic, "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
        self.output = _Output()
        self.runner.output = self.output  # type: ignore[assignment]
        values = [POISON if i == poison else b"v%d" % i for i in range(n)]
        records = [InRecord(TOPIC, 0, i, b"k%d" % i, v) for i, v in enumerate(values)]
        self.runner._queue.extend(records)
        self.threads = [
            threading.Thread(target=self.runner._guarded, args=(loop,), daemon=True)
            for loop in (self.runner._prepare_loop, self.runner._run_loop)
        ]
        self.done: list[int] = []
        for thread in self.threads:
            thread.start()

    def wait_done(self, n: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.done) < n and self.runner._fatal is None:
            assert time.monotonic() < deadline, f"done {self.done}"
            while not self.runner._done.empty():
                self.done += [offset for _, offset in self.runner._done.get()]
            time.sleep(0.01)

    def stop(self) -> None:
        self.runner.request_stop()
        for thread in self.threads:
            thread.join(timeout=30)
            assert not thread.is_alive()


def _dead_letters(output: _Output) -> list[OutMessage]:
    return [m for m in output.durable if m.topic == DEADLETTER_TOPIC]


@pytest.mark.parametrize(
    "error",
    [
        lambda: psycopg.OperationalError("connection failed: Connection refused"),
        lambda: ConnectionResetError(104, "Connection reset by peer"),
        lambda: TimeoutError("read timed out"),
    ],
    ids=["postgres", "reset", "timeout"],
)
def test_a_transient_prepare_failure_is_retried_then_every_record_emitted(
    error: Callable[[], Exception],
) -> None:
    logic = _Logic(prepare_fails=_failing(3, error))
    cycle = _Cycle(logic, 6)
    cycle.wait_done(6)
    cycle.stop()
    assert cycle.runner._fatal is None
    assert logic.prepares == [[0, 1, 2, 3, 4, 5]] * 4  # the same records, three retries
    assert [m.key for m in cycle.output.durable] == [b"k%d" % i for i in range(6)]
    assert not _dead_letters(cycle.output)
    assert sorted(cycle.done) == list(range(6))


def test_stopping_during_an_outage_reports_nothing_done() -> None:
    logic = _Logic(prepare_fails=_failing(10**9, lambda: ConnectionRefusedError(111, "refused")))
    cycle = _Cycle(logic, 4)
    deadline = time.monotonic() + 60
    while len(logic.prepares) < 3:  # backing off, again and again
        assert time.monotonic() < deadline
        time.sleep(0.01)
    cycle.stop()
    assert cycle.runner._fatal is None  # an outage is no reason to crash
    assert cycle.runner._done.empty()  # nothing committable: the records are redelivered
    assert not cycle.output.durable


def test_a_poison_record_in_prepare_is_the_only_dead_letter() -> None:
    logic = _Logic(prepare_fails=_poisoned)
    cycle = _Cycle(logic, 8, poison=5)
    cycle.wait_done(8)
    cycle.stop()
    assert cycle.runner._fatal is None
    dead = _dead_letters(cycle.output)
    assert [m.key for m in dead] == [b"k5"]
    assert dict(dead[0].headers)["x-error-kind"] == b"poison"
    emitted = [m.key for m in cycle.output.durable if m.topic != DEADLETTER_TOPIC]
    assert emitted == [b"k%d" % i for i in range(8) if i != 5]
    assert sorted(cycle.done) == list(range(8))


def test_a_poison_record_with_a_transient_retry_while_bisecting() -> None:
    # The bisection prepares parts on the run thread; an outage there is retried too.
    outage = _failing(2, lambda: psycopg.OperationalError("server closed the connection"))

    def fails(batch: Sequence[InRecord]) -> None:
        if len(batch) < 8:
            outage(batch)
        _poisoned(batch)

    logic = _Logic(prepare_fails=fails)
    cycle = _Cycle(logic, 8, poison=2)
    cycle.wait_done(8)
    cycle.stop()
    assert cycle.runner._fatal is None
    assert [m.key for m in _dead_letters(cycle.output)] == [b"k2"]
    assert sorted(cycle.done) == list(range(8))


def test_a_transient_failure_in_process_is_retried_as_well() -> None:
    logic = _Logic(process_fails=_failing(2, lambda: psycopg.OperationalError("refused")))
    cycle = _Cycle(logic, 4)
    cycle.wait_done(4)
    cycle.stop()
    assert cycle.runner._fatal is None
    assert not _dead_letters(cycle.output)
    assert sorted(cycle.done) == list(range(4))


@pytest.mark.parametrize("where", ["prepare", "process"])
def test_a_bug_stops_the_worker_with_nothing_done(where: str) -> None:
    bug = _failing(1, lambda: KeyError("submission_id"))
    logic = _Logic(**{f"{where}_fails": bug})  # type: ignore[arg-type]
    cycle = _Cycle(logic, 4)
    deadline = time.monotonic() + 60
    while cycle.runner._fatal is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    cycle.stop()
    assert isinstance(cycle.runner._fatal, KeyError)
    assert cycle.runner._done.empty()
    assert not cycle.output.durable


class _NoPrepare(_Logic):
    """A stage without a prepare step (enrich, the sink): StageLogic's default returns None."""

    def prepare(self, batch: Sequence[InRecord]) -> object:
        self.prepares.append([r.offset for r in batch])
        return None

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        assert prepared is None
        return [Emit((OutMessage("results.media", r.key, r.value),)) for r in batch]


def test_a_stage_whose_prepare_returns_none_keeps_taking_batches() -> None:
    logic = _NoPrepare()
    cycle = _Cycle(logic, 3)
    cycle.wait_done(3)
    more = [InRecord(TOPIC, 0, i, b"k%d" % i, b"v%d" % i) for i in range(3, 6)]
    with cycle.runner._cond:
        cycle.runner._queue.extend(more)
        cycle.runner._cond.notify_all()
    cycle.wait_done(6)
    cycle.stop()
    assert cycle.runner._fatal is None
    assert logic.prepares == [[0, 1, 2], [3, 4, 5]]
    assert sorted(cycle.done) == list(range(6))
