"""A batch's objects go when its run is over, without the cyclic collector: the workers
collect young objects rarely (process.GC_THRESHOLDS), so anything on the run thread's path
that makes a reference cycle around a batch (a closure that calls itself held every batch's
records and prepare output) would hold whole batches until a collection, and each collection
would walk them."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from inferstream.errors import PoisonBatchError
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.batching import Batch
from inferstream.workers.runtime.core import Prepared
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "enriched.media"
POISON = b"poison"


class _Made:
    """What a prepare step makes of a batch (weakly referenced by the test)."""

    def __init__(self, records: Sequence[InRecord]) -> None:
        self.offsets = [r.offset for r in records]


class _Logic:
    stage = "infer"
    task = "media"
    input_topics: Sequence[str] = (TOPIC,)

    def cost(self, record: InRecord) -> int:
        return 1

    def prepare(self, batch: Sequence[InRecord]) -> object:
        return _Made(batch)

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        if len(batch) > 1 and any(r.value == POISON for r in batch):
            raise PoisonBatchError("cannot decode") from ValueError("corrupt image")
        return [Emit((OutMessage("results.media", r.key, r.value, r.headers),)) for r in batch]

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        return None


class _Output:
    def begin(self) -> None:
        self.queued: list[OutMessage] = []

    def queue(self, messages: Sequence[OutMessage]) -> None:
        self.queued += messages

    def wait_durable(self) -> None:
        self.queued = []


@contextmanager
def _collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _runner() -> StageRunner:
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    worker = WorkerSettings(batch_max_items=64, batch_max_wait_ms=1)
    runner = StageRunner(_Logic(), "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
    runner.output = _Output()  # type: ignore[assignment]
    return runner


def _batch(start: int, n: int, poison: int | None) -> list[InRecord]:
    headers = (("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"),)
    return [
        InRecord(TOPIC, 0, i, b"k%d" % i, POISON if i == poison else b"v%d" % i, headers)
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize("poison", [None, 5], ids=["healthy", "bisected"])
def test_a_batch_and_its_prepare_output_are_freed_when_its_run_is_over(
    poison: int | None,
) -> None:
    runner = _runner()
    records = _batch(0, 16, poison)
    made = _Made(records)
    freed = [weakref.ref(made), weakref.ref(records[0]), weakref.ref(records[-1])]
    with _collector_off():
        assert runner._handle(Prepared(Batch(items=records), made))
        del records, made
        assert [ref() for ref in freed] == [None, None, None]
    done = runner._done.get_nowait()
    assert [offset for _, offset in done] == list(range(16))


def _made_here() -> int:
    """The objects of the kinds a run makes, alive now (other threads' objects left out)."""
    return sum(isinstance(o, InRecord | OutMessage | Emit | _Made) for o in gc.get_objects())


def test_many_batches_leave_no_more_tracked_objects_than_they_found() -> None:
    runner = _runner()
    runner._handle(Prepared(Batch(items=_batch(0, 64, 3)), None))  # first-use caches
    with _collector_off():
        before = _made_here()
        for n in range(1, 51):
            records = _batch(64 * n, 64, 64 * n + 7)
            assert runner._handle(Prepared(Batch(items=records), _Made(records)))
            runner._done.get_nowait()
        del records
        grown = _made_here() - before
    # 50 batches of 64 records made 3,250 such objects; a cycle around a batch would keep them
    # (a little room for another test's thread left running in this process).
    assert grown < 100, grown
