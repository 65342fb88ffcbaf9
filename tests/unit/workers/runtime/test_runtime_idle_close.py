"""A batch that has not filled closes as soon as nothing else is queued and the run thread's
slot is free (an idle stage does not hold a record for the batch wait); while the slot holds a
batch the stage is busy and records keep joining the open batch; turned off, a batch that does
not fill closes on its wait only."""

from __future__ import annotations

import threading
import time

from _stage_runner import idle_runner

from inferstream.settings import WorkerSettings
from inferstream.workers.runtime.batching import Batch, Batcher
from inferstream.workers.runtime.core import Prepared
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"
# The longest the setting allows, far longer than these tests take: a batch they see closed
# was not closed by its wait.
LONG_WAIT_MS = 60_000


def _runner(close_idle: bool = True, wait_ms: int = LONG_WAIT_MS) -> StageRunner:
    worker = WorkerSettings(
        batch_max_items=64, batch_max_wait_ms=wait_ms, batch_close_idle=close_idle
    )
    return idle_runner(worker, topic=TOPIC)


def _records(first: int, n: int) -> list[InRecord]:
    return [InRecord(TOPIC, 0, o, b"k", b"v") for o in range(first, first + n)]


def _enqueue(runner: StageRunner, records: list[InRecord]) -> None:
    with runner._cond:
        runner._queue.extend(records)
        runner._cond.notify_all()


def _offsets(batch: Batch[InRecord] | None) -> list[int]:
    assert batch is not None
    return [r.offset for r in batch.items]


def test_an_idle_stage_closes_a_batch_without_waiting() -> None:
    runner = _runner()
    runner._queue.extend(_records(0, 3))
    batch = runner._next_batch(Batcher(runner.policy))
    assert _offsets(batch) == [0, 1, 2]
    assert batch is not None and batch.reason == "idle"


def test_a_busy_stage_keeps_filling_the_open_batch_until_its_slot_is_free() -> None:
    runner = _runner()
    runner._prepared.put(Prepared(Batch(items=_records(100, 1)), None))  # the slot is taken
    closed: list[Batch[InRecord] | None] = []
    prepare = threading.Thread(
        target=lambda: closed.append(runner._next_batch(Batcher(runner.policy))), daemon=True
    )
    _enqueue(runner, _records(0, 3))
    prepare.start()
    _enqueue(runner, _records(3, 2))
    # Whenever the prepare thread looked, the slot was full: nothing could close yet.
    assert not closed
    # What the run thread does when it takes a batch: the slot is free, the batch may close.
    runner._prepared.get_nowait()
    with runner._cond:
        runner._cond.notify_all()
    prepare.join(timeout=60)
    assert not prepare.is_alive()
    assert _offsets(closed[0]) == [0, 1, 2, 3, 4]
    assert closed[0] is not None and closed[0].reason == "idle"


def test_turned_off_a_batch_that_does_not_fill_closes_on_its_wait() -> None:
    runner = _runner(close_idle=False, wait_ms=1)
    runner._queue.extend(_records(0, 2))
    started = time.monotonic()
    batch = runner._next_batch(Batcher(runner.policy))
    assert _offsets(batch) == [0, 1]
    assert batch is not None and batch.reason == "wait"
    assert time.monotonic() - started >= 0.001
