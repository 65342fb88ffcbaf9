"""The stage runner shared by every stage and task.

Three threads per worker process:
- the poll loop (main thread) owns the consumer: polls, pauses/resumes for backpressure,
  handles rebalances and commits contiguous watermarks;
- the prepare thread closes micro-batches (items / cost / wait) and runs the CPU-side
  preparation, so tokenising batch N+1 overlaps running batch N;
- the run thread processes a batch (bisecting poison, backing off on transient errors), makes
  its outputs durable, then reports the offsets done.
Offsets are committed only for records whose outputs are durable.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime import metrics
from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.batching import Batch, Batcher, BatchPolicy
from inferstream.workers.runtime.deadletter import DeadLetterRateGuard, deadletter_message
from inferstream.workers.runtime.deferred import DeferredStarts
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.isolation import process_isolating
from inferstream.workers.runtime.logic import StageLogic, coalesces_outputs
from inferstream.workers.runtime.output import OutputProducer
from inferstream.workers.runtime.records import (
    Emit,
    FatalStageError,
    InRecord,
    Outcome,
    OutMessage,
    Reject,
    TransientError,
)
from inferstream.workers.runtime.watermark import OffsetTracker, Position

log = structlog.get_logger("inferstream.worker")
REVOKE_WAIT_S = 20.0
# At most this many prepared batches share one flush (see StageRunner._grow).
COALESCE_MAX_BATCHES = 8


@dataclass
class _Prepared:
    batch: Batch[InRecord]
    prepared: object


class StageRunner:
    def __init__(
        self,
        logic: StageLogic,
        group_id: str,
        kafka: KafkaSettings,
        worker: WorkerSettings,
        health: HealthState,
    ) -> None:
        self.logic = logic
        self.kafka = kafka
        self.group_id = group_id
        self.worker = worker
        self.health = health
        self.labels = {"stage": logic.stage, "task": logic.task}
        self.policy = BatchPolicy(
            worker.batch_max_items, worker.batch_max_cost, worker.batch_max_wait_ms / 1000
        )
        self.consumer = Consumer(
            {
                **kafka.consumer_config(group_id),
                "client.id": f"{group_id}-{id(self)}",
            }
        )
        self.output = OutputProducer(kafka)
        self._coalesce = coalesces_outputs(logic)
        self.tracker = OffsetTracker()
        self._deferred = DeferredStarts(
            Backoff(worker.backoff_initial_ms / 1000, worker.backoff_max_ms / 1000)
        )
        self.guard = DeadLetterRateGuard(worker.dlq_max_per_minute)
        self._queue: deque[InRecord] = deque()
        self._cond = threading.Condition()
        self._prepared: queue.Queue[_Prepared | None] = queue.Queue(maxsize=1)
        self._done: queue.SimpleQueue[list[tuple[Position, int]]] = queue.SimpleQueue()
        self._active: Counter[Position] = Counter()  # taken from the queue, not yet done
        self._stop = threading.Event()  # stop taking new records
        self._fatal: BaseException | None = None
        self._paused = False
        self._committed: dict[Position, int] = {}
        self._last_commit = 0.0
        self._threads: list[threading.Thread] = []
        self.log = log.bind(**self.labels, group=group_id)
        # Export every series from the start (zeros), so dashboards and alerts see the worker.
        for histogram in (
            metrics.BATCH_SIZE,
            metrics.BATCH_FILL,
            metrics.QUEUE_DELAY,
            metrics.BATCH_DURATION,
        ):
            histogram.labels(**self.labels)
        metrics.TRANSIENT.labels(**self.labels)
        metrics.COMMITS.labels(**self.labels)

    # ------------------------------------------------------------------ lifecycle

    def request_stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def run(self) -> None:
        """Run until stopped; raises the fatal error that stopped it, if any."""
        self.consumer.subscribe(
            list(self.logic.input_topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._threads = [
            threading.Thread(
                target=self._guarded, args=(self._prepare_loop,), name="prepare", daemon=True
            ),
            threading.Thread(target=self._guarded, args=(self._run_loop,), name="run", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.log.info("stage started", topics=list(self.logic.input_topics))
        try:
            while not self._stop.is_set() and self._fatal is None:
                self._poll_once()
        finally:
            self._shutdown()
        if self._fatal is not None:
            raise self._fatal

    def _guarded(self, target: object) -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as err:  # a bug or a fatal condition: stop without committing it
            self._fatal = err
            self._stop.set()
            with self._cond:
                self._cond.notify_all()

    def _shutdown(self) -> None:
        """Finish the batch in flight, commit what is durable, leave the group."""
        self.request_stop()
        for thread in self._threads:
            thread.join(timeout=self.worker.shutdown_grace_s)
        self._drain_done()
        if self._fatal is None:
            self._commit(force=True)
        if self.kafka.leave_group_on_close:
            self.consumer.close()
        # Otherwise the process exits without leaving: the broker evicts the member after
        # session.timeout.ms (see KafkaSettings.leave_group_on_close).
        self.output.close()
        self.logic.close()
        self.log.info("stage stopped", fatal=repr(self._fatal) if self._fatal else None)

    # ------------------------------------------------------------------ poll loop

    def _poll_once(self) -> None:
        room = max(1, self.worker.max_in_flight - len(self._queue))
        messages = self.consumer.consume(num_messages=min(500, room), timeout=0.1)
        self.health.progressed()
        now = time.monotonic()
        accepted: list[InRecord] = []
        for msg in messages:
            record = self._to_record(msg, now)
            if record is not None:
                self.tracker.polled(record.position, record.offset)
                accepted.append(record)
        if accepted:
            with self._cond:
                self._queue.extend(accepted)
                self._cond.notify_all()
        self._drain_done()
        self._commit()
        self._backpressure()
        self._start_deferred()

    def _to_record(self, msg: Message, now: float) -> InRecord | None:
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return None
            if error.fatal():
                raise FatalStageError(f"fatal Kafka error: {error.str()}")
            self.log.warning("consumer error", error=error.str())
            return None
        return InRecord.from_message(msg, now)

    def _backpressure(self) -> None:
        depth = len(self._queue)
        metrics.QUEUE_DEPTH.labels(**self.labels).set(depth)
        assignment = self.consumer.assignment()
        if not self._paused and depth >= self.worker.max_in_flight and assignment:
            self.consumer.pause(assignment)
            self._paused = True
            metrics.PAUSED.labels(**self.labels).set(1)
            self.log.info("paused: downstream is slower than input", queued=depth)
        elif self._paused and depth <= self.worker.max_in_flight // 2:
            if assignment:
                self.consumer.resume(assignment)
            self._paused = False
            metrics.PAUSED.labels(**self.labels).set(0)
            self.log.info("resumed", queued=depth)

    def _drain_done(self) -> None:
        while True:
            try:
                finished = self._done.get_nowait()
            except queue.Empty:
                return
            for pos, offset in finished:
                self.tracker.done(pos, offset)
                self._active[pos] -= 1

    def _commit(self, *, force: bool = False, only: Sequence[Position] | None = None) -> None:
        now = time.monotonic()
        if not force and now - self._last_commit < self.worker.commit_interval_ms / 1000:
            return
        self._last_commit = now
        wanted = set(only) if only is not None else None
        offsets = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in self.tracker.committable().items()
            if self._committed.get((topic, partition)) != offset
            and (wanted is None or (topic, partition) in wanted)
        ]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except Exception as err:  # retried at the next interval; nothing is lost by waiting
            self.log.warning("commit failed; will retry", error=str(err))
            return
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset
        metrics.COMMITS.labels(**self.labels).inc()

    # ------------------------------------------------------------------ rebalances

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = [(tp.topic, tp.partition) for tp in partitions]
        self.tracker.assign(positions)
        try:
            stored = self.logic.initial_offsets(positions)
        except TransientError as err:
            # Where to start lives in a dependency that is down: keep the partitions in the
            # group but fetch nothing from them until _start_deferred reads it (deferred.py).
            consumer.incremental_assign([])
            delay = self._deferred.defer(positions, time.monotonic())
            self.log.warning(
                "start offsets unavailable; partitions wait",
                partitions=[f"{t}:{p}" for t, p in positions],
                error=str(err),
                retry_in_s=round(delay, 2),
            )
            return
        self._assign_at(consumer, positions, stored)

    def _assign_at(
        self, consumer: Consumer, positions: list[Position], stored: Mapping[Position, int] | None
    ) -> None:
        if stored is not None:
            start = [TopicPartition(t, p, stored.get((t, p), -2)) for t, p in positions]
            self.log.info(
                "assigned at stored offsets",
                offsets={f"{t}:{p}": o for (t, p), o in stored.items()},
            )
        else:  # the group's committed offsets (the client's default)
            start = [TopicPartition(t, p) for t, p in positions]
            self.log.info("assigned", partitions=[f"{t}:{p}" for t, p in positions])
        consumer.incremental_assign(start)
        if self._paused:
            consumer.pause(start)

    def _start_deferred(self) -> None:
        """Retry the start-offset lookup of partitions assigned during an outage (backoff)."""
        positions = self._deferred.due(time.monotonic())
        if not positions:
            return
        try:
            stored = self.logic.initial_offsets(positions)
        except TransientError as err:
            delay = self._deferred.failed(time.monotonic())
            self.log.warning(
                "start offsets still unavailable", error=str(err), retry_in_s=round(delay, 2)
            )
            return
        self._deferred.started(positions)
        self._assign_at(self.consumer, positions, stored)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = {(tp.topic, tp.partition) for tp in partitions}
        with self._cond:
            # Not started: leave them to the next owner (they are not committed).
            self._queue = deque(r for r in self._queue if r.position not in positions)
        deadline = time.monotonic() + REVOKE_WAIT_S
        while any(self._active[p] > 0 for p in positions) and time.monotonic() < deadline:
            if self._fatal is not None:
                break
            time.sleep(0.02)  # the run thread is finishing a batch of these partitions
            self._drain_done()
        self._drain_done()
        if self._fatal is None:
            self._commit(force=True, only=list(positions))
        self.tracker.revoke(positions)
        for pos in positions:
            self._committed.pop(pos, None)
        self._release_deferred(consumer, partitions)
        self.log.info("revoked", partitions=[f"{t}:{p}" for t, p in positions])

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = {(tp.topic, tp.partition) for tp in partitions}
        with self._cond:
            self._queue = deque(r for r in self._queue if r.position not in positions)
        self.tracker.revoke(positions)
        self._release_deferred(consumer, partitions)
        self.log.warning("partitions lost", partitions=[f"{t}:{p}" for t, p in positions])

    def _release_deferred(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        local = self._deferred.release(partitions)
        if local is not None:  # some were never assigned locally: unassign the others only
            consumer.incremental_unassign(local)

    # ------------------------------------------------------------------ prepare thread

    def _next_batch(self, batcher: Batcher[InRecord]) -> Batch[InRecord] | None:
        with self._cond:
            while True:
                if self._stop.is_set():
                    return None
                while self._queue:
                    record = self._queue.popleft()
                    self._active[record.position] += 1
                    closed = batcher.add(record, self.logic.cost(record), time.monotonic())
                    if closed is not None:
                        return closed
                closed = batcher.poll(time.monotonic())
                if closed is not None:
                    return closed
                deadline = batcher.deadline()
                wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
                self._cond.wait(wait)

    def _prepare_loop(self) -> None:
        batcher: Batcher[InRecord] = Batcher(self.policy)
        while True:
            batch = self._next_batch(batcher)
            if batch is None:
                break
            self._observe_batch(batch)
            prepared = self.logic.prepare(batch.items)
            while not self._stop.is_set():
                try:
                    self._prepared.put(_Prepared(batch, prepared), timeout=0.2)
                    break
                except queue.Full:
                    continue
        # Records left in an open batch were never processed: they stay uncommitted.

    def _observe_batch(self, batch: Batch[InRecord]) -> None:
        metrics.BATCH_SIZE.labels(**self.labels).observe(len(batch.items))
        metrics.BATCH_FILL.labels(**self.labels).observe(batch.fill_ratio(self.policy))
        metrics.BATCH_CLOSE.labels(**self.labels, reason=batch.reason).inc()
        now = time.monotonic()
        delay = metrics.QUEUE_DELAY.labels(**self.labels)
        for record in batch.items:
            delay.observe(now - record.polled_at)

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
            started = time.monotonic()
            if not self._handle(item):
                return  # stopping during a transient outage: leave the group uncommitted
            metrics.BATCH_DURATION.labels(**self.labels).observe(time.monotonic() - started)

    def _handle(self, first: _Prepared) -> bool:
        """Run a batch, and under backlog the batches prepared behind it (see _grow), then make
        all their outputs durable with one flush; a transient failure reruns the whole group."""
        group = [first]
        results: list[list[Outcome]] = []
        backoff = Backoff(self.worker.backoff_initial_ms / 1000, self.worker.backoff_max_ms / 1000)
        while True:
            try:
                results = self._run_group(group)
                break
            except TransientError as err:
                metrics.TRANSIENT.labels(**self.labels).inc()
                delay = backoff.next_delay()
                self.log.warning(
                    "transient failure; backing off", error=str(err), retry_in_s=round(delay, 2)
                )
                if self._stop.wait(delay):
                    return False
        for item, outcomes in zip(group, results, strict=True):
            self.logic.after_durable(item.batch.items, outcomes)
            self._done.put([(r.position, r.offset) for r in item.batch.items])
        return True

    def _run_group(self, group: list[_Prepared]) -> list[list[Outcome]]:
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

    def _grow(self, group: list[_Prepared], started: float) -> bool:
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
            ready = prepared if len(part) == len(records) else self.logic.prepare(part)
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
                metrics.RECORDS.labels(**self.labels, outcome="emitted").inc()
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
        if rejected:
            self.guard.record(time.monotonic(), rejected)
        return messages
