"""The batch cycle: the prepare thread closes micro-batches and runs the stage's CPU-side
preparation; the run thread processes them (bisecting poison), makes their outputs durable
with one flush, then reports the offsets done.

One policy for failures on both threads: an error ``backoff.is_transient`` accepts (a
dependency down or slow) retries the same records with backoff, dead-letters nothing and
commits nothing past them; a PoisonBatchError is bisected to the records to blame, which alone
are dead-lettered; anything else is a bug and stops the worker uncommitted."""

from __future__ import annotations

import queue
import time
from collections import Counter
from collections.abc import Sequence

from inferstream.workers.runtime import metrics
from inferstream.workers.runtime.backoff import Backoff, is_transient
from inferstream.workers.runtime.batching import Batch, Batcher
from inferstream.workers.runtime.core import Prepared, RunnerCore
from inferstream.workers.runtime.deadletter import deadletter_message
from inferstream.workers.runtime.isolation import process_isolating
from inferstream.workers.runtime.records import (
    Emit,
    InRecord,
    Outcome,
    OutMessage,
    PoisonBatchError,
    Reject,
)

# At most this many prepared batches share one flush (see BatchCycle._grow).
COALESCE_MAX_BATCHES = 8


# What _prepare_retrying returns when the worker stopped during its backoff.
STOPPED = object()


class PrepareInParts:
    """What the prepare thread hands on when a batch's prepare raised PoisonBatchError: the
    run thread's bisection prepares each part again, so only the records to blame are
    dead-lettered."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class BatchCycle(RunnerCore):
    # ------------------------------------------------------------------ prepare thread

    def _next_batch(self, batcher: Batcher[InRecord]) -> Batch[InRecord] | None:
        with self._cond:
            while True:
                if self._stop.is_set():
                    return None
                while self._queue:
                    # The open batch's partition first (inqueue.py: one output object a batch).
                    first = batcher.first
                    record = self._queue.take(None if first is None else first.position)
                    self._active[record.position] += 1
                    closed = batcher.add(record, self.logic.cost(record), time.monotonic())
                    if closed is not None:
                        return closed
                closed = batcher.poll(time.monotonic())
                if closed is not None:
                    return closed
                if batcher.pending and self._can_take_batch():
                    return batcher.close_idle()
                deadline = batcher.deadline()
                wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
                self._cond.wait(wait)

    def _can_take_batch(self) -> bool:
        """Close a batch that has not filled once the queue is empty and the run thread's slot
        is free: nothing else is arriving and waiting out the batch wait would only delay it
        (up to batch_max_wait_ms at each stage: 150 ms over enrich, infer and sink at low
        load). While the slot holds a batch the stage is busy, so records keep joining the
        open batch: batches grow with the backlog, not with the wait."""
        return self.worker.batch_close_idle and self._prepared.empty()

    def _prepare_loop(self) -> None:
        batcher: Batcher[InRecord] = Batcher(self.policy)
        while True:
            batch = self._next_batch(batcher)
            if batch is None:
                break
            self._observe_batch(batch)
            prepared = self._prepare_retrying(batch.items)
            if prepared is STOPPED:
                break  # stopping during an outage: the batch stays uncommitted
            while not self._stop.is_set():
                try:
                    self._prepared.put(Prepared(batch, prepared), timeout=0.2)
                    break
                except queue.Full:
                    continue
        # Records left in an open batch were never processed: they stay uncommitted.

    def _prepare_retrying(self, records: list[InRecord]) -> object | None:
        """The stage's prepare, retried with backoff while it fails transiently (the records
        stay active, so nothing is committed past them); STOPPED when stopped meanwhile
        (not None: a stage without a prepare step returns None)."""
        backoff = self._backoff()
        while True:
            try:
                return self.logic.prepare(records)
            except PoisonBatchError as err:
                return PrepareInParts(str(err))
            except Exception as err:
                if not self._backoff_after(err, backoff, "prepare"):
                    return STOPPED

    def _backoff(self) -> Backoff:
        return Backoff(self.worker.backoff_initial_ms / 1000, self.worker.backoff_max_ms / 1000)

    def _backoff_after(self, err: Exception, backoff: Backoff, step: str) -> bool:
        """Re-raise err unless it is transient; else wait out the next delay. False when the
        worker was stopped during the wait."""
        if not is_transient(err):
            raise err
        metrics.TRANSIENT.labels(**self.labels).inc()
        delay = backoff.next_delay()
        self.log.warning(
            "transient failure; backing off",
            step=step,
            error=f"{type(err).__name__}: {err}"[:500],
            retry_in_s=round(delay, 2),
        )
        return not self._stop.wait(delay)

    def _observe_batch(self, batch: Batch[InRecord]) -> None:
        self._batch_size.observe(len(batch.items))
        self._batch_fill.observe(batch.fill_ratio(self.policy))
        metrics.BATCH_CLOSE.labels(**self.labels, reason=batch.reason).inc()
        # One observation per record, grouped by poll time: the records of one poll pass share
        # it (see metrics.observe_many).
        now = time.monotonic()
        polled = Counter(record.polled_at for record in batch.items)
        delays = [(now - at, count) for at, count in polled.items()]
        metrics.observe_many(self._queue_delay, delays)

    # ------------------------------------------------------------------ run thread

    def _run_loop(self) -> None:
        # On stop, the group being run is finished; prepared batches not started are dropped
        # (uncommitted, so redelivered to whoever owns the partition next).
        while not self._stop.is_set():
            try:
                item = self._prepared.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                return
            if self.worker.batch_close_idle:
                with self._cond:  # the slot is free: the open batch may close now
                    self._cond.notify_all()
            started = time.monotonic()
            if not self._handle(item):
                return  # stopping during a transient outage: leave the group uncommitted
            self._batch_duration.observe(time.monotonic() - started)

    def _handle(self, first: Prepared) -> bool:
        """Run a batch, and under backlog the batches prepared behind it (see _grow), then make
        all their outputs durable with one flush; a transient failure reruns the whole group."""
        group = [first]
        results: list[list[Outcome]] = []
        backoff = self._backoff()
        while True:
            try:
                results = self._run_group(group)
                break
            except Exception as err:
                if not self._backoff_after(err, backoff, "run"):
                    return False
        for item, outcomes in zip(group, results, strict=True):
            self.logic.after_durable(item.batch.items, outcomes)
            self._done.put([(r.position, r.offset) for r in item.batch.items])
        return True

    def _run_group(self, group: list[Prepared]) -> list[list[Outcome]]:
        """Process each batch and queue its outputs; the first attempt may grow the group."""
        started = time.monotonic()
        first_attempt = len(group) == 1
        results: list[list[Outcome]] = []
        self.output.begin()
        index = 0
        while index < len(group) or (first_attempt and self._grow(group, started)):
            records = group[index].batch.items
            outcomes = self._process(records, group[index].prepared)
            self.output.queue(self._outputs(records, outcomes))
            results.append(outcomes)
            index += 1
        self.output.wait_durable()
        return results

    def _grow(self, group: list[Prepared], started: float) -> bool:
        """Add a batch that is already prepared to the group, if the stage allows it and the
        group is within its bounds: records waiting behind a running batch are backlog, and
        sharing one flush makes fewer, larger produce requests (each partition of a request
        costs the embedded broker ~3 object writes). Bounded by the batch wait, so coalescing
        adds at most that to a record's latency, and by COALESCE_MAX_BATCHES."""
        if not self._coalesce or self._stop.is_set():
            return False
        if len(group) >= COALESCE_MAX_BATCHES:
            return False
        if time.monotonic() - started >= self.policy.max_wait_s:
            return False
        try:
            item = self._prepared.get_nowait()
        except queue.Empty:
            return False
        if item is None:
            return False
        group.append(item)
        return True

    def _process(self, records: list[InRecord], prepared: object) -> list[Outcome]:
        def step(part: Sequence[InRecord]) -> list[Outcome]:
            whole = len(part) == len(records) and not isinstance(prepared, PrepareInParts)
            ready = prepared if whole else self.logic.prepare(part)
            return self.logic.process(part, ready)

        outcomes, _ = process_isolating(records, step)
        return outcomes

    def _outputs(self, records: list[InRecord], outcomes: list[Outcome]) -> list[OutMessage]:
        """The messages a batch's outcomes produce: emitted outputs and dead letters."""
        messages: list[OutMessage] = []
        rejected = 0
        for record, outcome in zip(records, outcomes, strict=True):
            if isinstance(outcome, Emit):
                messages.extend(outcome.messages)
                continue
            assert isinstance(outcome, Reject)
            rejected += 1
            messages.append(deadletter_message(self.logic.stage, record, outcome))
            metrics.RECORDS.labels(**self.labels, outcome=outcome.kind).inc()
            metrics.DEAD_LETTERS.labels(**self.labels, kind=outcome.kind).inc()
            self.log.warning(
                "record dead-lettered",
                submission_id=outcome.submission_id,
                partition=record.partition,
                offset=record.offset,
                kind=outcome.kind,
                reason=outcome.reason[:300],
            )
        # Counted once per batch: a labelled child looked up per record was measurable.
        if len(records) > rejected:
            self._emitted.inc(len(records) - rejected)
        if rejected:
            self.guard.record(time.monotonic(), rejected)
        return messages
