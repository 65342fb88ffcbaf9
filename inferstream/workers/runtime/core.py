"""The state a stage runner's three threads share, and the two steps all of them need:
moving finished offsets into the tracker and committing the contiguous watermarks.

Commits on the poll loop's interval are asynchronous: the loop hands the offsets to the
client and goes on fetching; the answers arrive through ``on_commit`` during later polls and
settle the ledger (commits.py), and a failed one is sent again when next due. A synchronous
commit held the loop for the broker's answer, and records waited behind it at every stage.
The commits of a revoke and of shutdown stay synchronous: the partition or the process goes
right after, so they wait for the answer.

StageRunner (runner.py) is this core plus the rebalance callbacks (rebalance.py) and the
prepare/run threads (cycle.py); each part reads and writes the state declared here.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime import metrics
from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.batching import Batch, BatchPolicy
from inferstream.workers.runtime.broker_wait import BrokerWait
from inferstream.workers.runtime.commits import CommitLedger
from inferstream.workers.runtime.deadletter import DeadLetterRateGuard
from inferstream.workers.runtime.deferred import DeferredStarts
from inferstream.workers.runtime.gaps import GapGuard
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.inqueue import InputQueue
from inferstream.workers.runtime.logic import StageLogic, coalesces_outputs
from inferstream.workers.runtime.output import OutputProducer
from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.watermark import OffsetTracker, Position

log = structlog.get_logger("inferstream.worker")

# An asynchronous commit whose answer has not come in this long is sent again. The client
# answers every commit, a failure included, within its request timeout; this only bounds the
# wait for an answer that was never delivered.
COMMIT_ANSWER_TIMEOUT_S = 60.0


def off_latency_path(logic: object) -> bool:
    """A driver's optional ``background_consumer = True``: nothing waits on its records (the
    webhooks), so its consumer takes the longer background fetch wait (KafkaSettings). Not a
    protocol member, like ``coalesce_outputs``."""
    return getattr(logic, "background_consumer", False) is True


@dataclass
class Prepared:
    """A closed batch and what the stage's prepare step made of it."""

    batch: Batch[InRecord]
    prepared: object


class RunnerCore:
    def __init__(
        self,
        logic: StageLogic,
        group_id: str,
        kafka: KafkaSettings,
        worker: WorkerSettings,
        health: HealthState,
        *,
        background: bool = False,
    ) -> None:
        """``background``: the consumer is off the records' latency path (as a driver's
        ``background_consumer``), so it takes the longer background fetch wait."""
        self.logic = logic
        self.kafka = kafka
        self.group_id = group_id
        self.worker = worker
        self.health = health
        self.labels = {"stage": logic.stage, "task": logic.task}
        self.background = background or off_latency_path(logic)
        self.policy = BatchPolicy(
            worker.batch_max_items, worker.batch_max_cost, worker.batch_max_wait_ms / 1000
        )
        self.log = log.bind(**self.labels, group=group_id)
        self._broker_wait = BrokerWait(kafka.bootstrap_servers, self.log)
        health.broker_waiting = self._broker_wait.waiting
        config: dict[str, Any] = {
            **kafka.consumer_config(group_id, background=self.background),
            "client.id": f"{group_id}-{id(self)}",
            "on_commit": self._on_commit,  # served by the poll loop's poll/consume
            "error_cb": self._broker_wait.on_error,  # the same, only while a connection fails
        }
        self.consumer = Consumer(config)
        self.output = OutputProducer(kafka)
        self._coalesce = coalesces_outputs(logic)
        self.tracker = OffsetTracker()
        # 0 turns the guard off (real Kafka: a gap is a transaction marker or compaction).
        wait_s = worker.offset_gap_wait_ms / 1000
        self.gaps = GapGuard(wait_s) if wait_s > 0 else None
        self._deferred = DeferredStarts(
            Backoff(worker.backoff_initial_ms / 1000, worker.backoff_max_ms / 1000)
        )
        self.guard = DeadLetterRateGuard(worker.dlq_max_per_minute)
        self._queue = InputQueue()  # polled, not yet in a batch (inqueue.py)
        self._cond = threading.Condition()
        self._prepared: queue.Queue[Prepared | None] = queue.Queue(maxsize=1)
        self._done: queue.SimpleQueue[list[tuple[Position, int]]] = queue.SimpleQueue()
        self._active: Counter[Position] = Counter()  # taken from the queue, not yet done
        self._stop = threading.Event()  # stop taking new records
        self._fatal: BaseException | None = None
        self._paused = False
        self.commits = CommitLedger(COMMIT_ANSWER_TIMEOUT_S)
        self._last_commit = 0.0
        self._threads: list[threading.Thread] = []
        # Every series exported from the start (zeros), so dashboards and alerts see the
        # worker; the ones set per poll pass or per batch looked up here once (labels() sorts
        # its keywords on each call: two sorts and a dict per pass of the poll loop).
        self._batch_size = metrics.BATCH_SIZE.labels(**self.labels)
        self._batch_fill = metrics.BATCH_FILL.labels(**self.labels)
        self._queue_delay = metrics.QUEUE_DELAY.labels(**self.labels)
        self._batch_duration = metrics.BATCH_DURATION.labels(**self.labels)
        self._queue_depth = metrics.QUEUE_DEPTH.labels(**self.labels)
        self._paused_series = metrics.PAUSED.labels(**self.labels)
        self._emitted = metrics.RECORDS.labels(**self.labels, outcome="emitted")
        metrics.TRANSIENT.labels(**self.labels)
        metrics.COMMITS.labels(**self.labels)

    def request_stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def _drain_done(self) -> None:
        # Only the poll loop's thread takes from _done, so empty() then get() cannot race; the
        # Empty raised by get_nowait at the end of every pass cost more than the look.
        while not self._done.empty():
            for pos, offset in self._done.get():
                self.tracker.done(pos, offset)
                self._active[pos] -= 1

    def _commit(self, *, force: bool = False, only: Sequence[Position] | None = None) -> None:
        """Commit the contiguous watermarks the broker does not hold yet: once per commit
        interval, asynchronously; ``force`` (revoke, shutdown): now, and wait for the answer."""
        now = time.monotonic()
        if not force and now - self._last_commit < self.worker.commit_interval_ms / 1000:
            return
        self._last_commit = now
        committable = self.tracker.committable()
        if only is not None:
            wanted = set(only)
            committable = {pos: at for pos, at in committable.items() if pos in wanted}
        due = self.commits.due(committable, now, include_in_flight=force)
        if not due:
            return
        offsets = [TopicPartition(topic, partition, at) for (topic, partition), at in due.items()]
        try:
            answer = self.consumer.commit(offsets=offsets, asynchronous=not force)
        except Exception as err:  # retried when next due; nothing is lost by waiting
            self.log.warning("commit failed; will retry", error=str(err))
            return
        metrics.COMMITS.labels(**self.labels).inc()
        if not force:
            self.commits.sent(due, now)
            return
        # A synchronous commit answers per partition; a partition that failed is retried.
        failed = {(tp.topic, tp.partition) for tp in answer or () if tp.error is not None}
        if failed:
            self.log.warning("commit failed; will retry", partitions=sorted(failed))
        self.commits.acknowledged({pos: at for pos, at in due.items() if pos not in failed})

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """The client's answer to a commit (called from the poll loop's poll): settle it."""
        for tp in partitions:
            error = err or tp.error
            if error is not None:
                self.log.warning(
                    "commit failed; will retry",
                    partition=f"{tp.topic}:{tp.partition}",
                    error=error.str(),
                )
            self.commits.answered((tp.topic, tp.partition), tp.offset, ok=error is None)
