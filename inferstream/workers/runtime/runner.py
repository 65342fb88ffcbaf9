"""The stage runner shared by every stage and task.

Three threads per worker process:
- the poll loop (main thread, this module) owns the consumer: polls, pauses/resumes for
  backpressure, handles rebalances (rebalance.py) and commits contiguous watermarks (core.py);
- the prepare thread (cycle.py) closes micro-batches (items / cost / wait) and runs the CPU-side
  preparation, so tokenising batch N+1 overlaps running batch N;
- the run thread (cycle.py) processes a batch (bisecting poison, backing off on transient
  errors), makes its outputs durable, then reports the offsets done.
Offsets are committed only for records whose outputs are durable.
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaError, Message

from inferstream.workers.runtime.cycle import BatchCycle
from inferstream.workers.runtime.gaps import admit_records, log_gaps
from inferstream.workers.runtime.rebalance import Rebalancing
from inferstream.workers.runtime.records import FatalStageError, InRecord

# Most records one pass of the poll loop takes from the consumer.
POLL_MAX_RECORDS = 500
# The poll loop's wait for a record while nothing is in flight: an idle worker wakes once a
# second, not ten times (each pass also asks for the assignment and sets gauges). While records
# are in flight it waits INFERSTREAM_WORKER_POLL_TIMEOUT_MS, as its commits, a pause to lift or
# a deferred start may come due. Stopping an idle worker waits out at most IDLE_POLL_S.
IDLE_POLL_S = 1.0


class StageRunner(Rebalancing, BatchCycle):
    # ------------------------------------------------------------------ lifecycle

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
        messages = self._fetch(min(POLL_MAX_RECORDS, room))
        self.health.progressed()
        now = time.monotonic()
        accepted = self._admit(self._to_records(messages, now), now)
        if accepted:
            polled = self.tracker.polled
            for record in accepted:
                polled(record.position, record.offset)
            with self._cond:
                self._queue.extend(accepted)
                self._cond.notify_all()
        self._drain_done()
        self._commit()
        self._backpressure()
        self._start_deferred()

    def _admit(self, records: list[InRecord], now: float) -> list[InRecord]:
        """The records the gap guard lets through (gaps.py): a partition handed an offset past
        one not read yet is sent back to it, until the late batch is stored or the wait ends."""
        if self.gaps is None or not records:
            return records
        kept, admitted = admit_records(self.gaps, self.consumer, records, now)
        log_gaps(self.log, admitted)
        return kept

    def _fetch(self, most: int) -> list[Message]:
        """The records the consumer holds, waiting for the first one only: librdkafka's
        ``consume(n, timeout)`` returns when n records are in or the whole timeout is over, so
        a record of a quiet stream waited there for the rest of the timeout on each stage."""
        first = self.consumer.poll(self._poll_timeout())
        if first is None:
            return []
        if most <= 1:
            return [first]
        return [first, *self.consumer.consume(num_messages=most - 1, timeout=0)]

    def _poll_timeout(self) -> float:
        """How long the loop may block waiting for a record: long when it has nothing else to
        do, short while its other duties (commit what finishes, lift a pause, retry a deferred
        start) may come due. A record ends the wait either way."""
        busy = self.worker.poll_timeout_ms / 1000
        if (
            self._paused
            or self._queue
            or self._deferred.waiting()
            or not self._done.empty()
            or self.tracker.pending()
            or (self.gaps is not None and self.gaps.waiting())
            or not self.commits.settled(self.tracker.committable())
        ):
            return busy
        return max(busy, IDLE_POLL_S)

    def _to_records(self, messages: list[Message], now: float) -> list[InRecord]:
        """The poll's records, built once (the gap guard and the tracker read them); an error
        is logged and skipped, a fatal one stops the worker."""
        records: list[InRecord] = []
        build = InRecord.from_message
        for msg in messages:
            error = msg.error()
            if error is None:
                records.append(build(msg, now))
                continue
            if error.code() == KafkaError._PARTITION_EOF:
                continue
            if error.fatal():
                raise FatalStageError(f"fatal Kafka error: {error.str()}")
            self.log.warning("consumer error", error=error.str())
        return records

    def _backpressure(self) -> None:
        """Pause every partition when the queue is full, resume at half. The assignment is
        asked for only then: the client answers it from its own main thread, and a pass that
        asked on every record waited for that thread (20-150 ms on a loaded machine)."""
        depth = len(self._queue)
        self._queue_depth.set(depth)
        if not self._paused and depth >= self.worker.max_in_flight:
            assignment = self.consumer.assignment()
            if not assignment:
                return
            self.consumer.pause(assignment)
            self._paused = True
            self._paused_series.set(1)
            self.log.info("paused: downstream is slower than input", queued=depth)
        elif self._paused and depth <= self.worker.max_in_flight // 2:
            assignment = self.consumer.assignment()
            if assignment:
                self.consumer.resume(assignment)
            self._paused = False
            self._paused_series.set(0)
            self.log.info("resumed", queued=depth)
