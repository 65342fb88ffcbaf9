"""The archive stage: results.<task> into the results lake (Parquet in S3), exactly once.

Its own consumer group (`<prefix>.archive.<task>`), its own loop rather than the StageRunner:
the runner's unit of durability is a batch (outputs durable when `process` returns), the
archive's is a file that spans many batches, and its offsets may be committed only when the
file holding them is written. So, per partition:

- records are appended to the open file (`Rotator`); nothing is committed for them;
- a file closed by the policy (a record count, or record time passing its window) is encoded,
  PUT under its deterministic key, and then its end offset is committed;
- at shutdown, on revoke or on a crash the open file is dropped: its offsets were never
  committed, so whoever owns the partition next starts the same file at the same record;
- at idle an open file stays open (no wall-clock flush: that would make the cut depend on
  timing and break byte-identical replays); it is closed by the next record that fills it or
  passes its window.

S3 down: the closed files wait in `_pending`, every partition is paused (no more buffering)
and the loop keeps polling so the group does not evict the member; retried with backoff.

Several infer workers write results.<task>: on the embedded broker a later batch can be fetched
before an earlier one is stored, so every poll passes the gap guard (runtime/gaps.py; the
worker setting `offset_gap_wait_ms`, 0: off). An assigned partition is expected at its
committed offset: a file must start at the record a replay would start it at.
"""

from __future__ import annotations

import time
from collections import deque

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from inferstream.errors import FatalStageError
from inferstream.settings import KafkaSettings
from inferstream.settings.archive import ArchiveSettings
from inferstream.storage import ObjectStore, ObjectStoreError
from inferstream.topology import topic_name
from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import (
    ArchiveRecord,
    ClosedFile,
    RotationPolicy,
    Rotator,
    object_key,
)
from inferstream.workers.runtime import metrics
from inferstream.workers.runtime.backoff import Backoff, is_transient
from inferstream.workers.runtime.gaps import GapGuard, admit_messages, log_gaps
from inferstream.workers.runtime.health import HealthState

log = structlog.get_logger("inferstream.worker")
Position = tuple[str, int]
STAGE = "archive"
# How long a missing input topic is waited for before it is taken as a wrong --task.
TOPIC_WAIT_S = 120.0
# How long an assignment waits for the partitions' committed offsets (where the gap guard
# expects them to start); without an answer the first record fetched sets the count.
COMMITTED_TIMEOUT_S = 10.0


class ArchiveWorker:
    def __init__(
        self,
        task: str,
        store: ObjectStore,
        settings: ArchiveSettings,
        kafka: KafkaSettings,
        group_id: str,
        health: HealthState,
        gap_wait_s: float = 0.0,
    ) -> None:
        self.task = task
        self.store = store
        self.settings = settings
        self.topic = topic_name("results", task)
        self.policy = RotationPolicy(settings.max_records, settings.window_ms)
        self.health = health
        self.consumer = Consumer(
            # Nothing waits on the archive: it polls at the background fetch wait.
            {**kafka.consumer_config(group_id, background=True), "client.id": group_id}
        )
        self.leave_group = kafka.leave_group_on_close
        self.gaps = GapGuard(gap_wait_s) if gap_wait_s > 0 else None
        self._rotators: dict[Position, Rotator] = {}
        self._pending: deque[ClosedFile] = deque()
        self._backoff = Backoff(0.2, 30.0)
        self._retry_at = 0.0
        self._paused = False
        self._stopping = False
        self.labels = {"stage": STAGE, "task": task}
        self.log = log.bind(**self.labels, group=group_id)
        metrics.COMMITS.labels(**self.labels)
        metrics.TRANSIENT.labels(**self.labels)

    def request_stop(self) -> None:
        self._stopping = True

    def ready(self) -> tuple[bool, str]:
        return (True, "ok") if self.store.ping() else (False, "object store unreachable")

    def run(self) -> None:
        self._check_topic()
        self.consumer.subscribe(
            [self.topic], on_assign=self._on_assign, on_revoke=self._on_drop, on_lost=self._on_drop
        )
        self.log.info("archive started", topic=self.topic, policy=repr(self.policy))
        try:
            while not self._stopping:
                self._poll_once()
        finally:
            # Open files are not written: their offsets stay uncommitted (rebuilt next time).
            # Closed ones are tried once more, so a clean stop leaves as little as it can.
            self._write_pending(force=True)
            if self.leave_group:  # else the broker evicts the member (KafkaSettings)
                self.consumer.close()
            self.log.info("archive stopped", buffered=self.buffered())

    def _check_topic(self) -> None:
        """A mistyped --task would otherwise sit idle on a topic that never exists. A broker on
        durable s3:// storage answers metadata without its topics while the object store is
        down, so an absent topic is waited for (TOPIC_WAIT_S) before it is taken as a mistake."""
        deadline = time.monotonic() + TOPIC_WAIT_S
        while not self._stopping:
            try:
                metadata = self.consumer.list_topics(self.topic, timeout=30)
            except KafkaException as err:
                if not is_transient(err):
                    raise
                # The broker is unreachable (started before it, or during an outage): the
                # same wait as for an absent topic, instead of exiting at start.
                metadata = None
            found = metadata.topics.get(self.topic) if metadata is not None else None
            if found is not None and found.error is None and found.partitions:
                return
            if time.monotonic() > deadline:
                raise FatalStageError(
                    f"topic {self.topic} does not exist after {TOPIC_WAIT_S:.0f} s (wrong "
                    "--task? `inferstream topology apply` creates the topics of the installed "
                    "tasks)"
                )
            self.log.warning("topic not in the broker's metadata yet; waiting", topic=self.topic)
            time.sleep(2.0)  # the broker (or its storage) is coming back; not a sync point

    def buffered(self) -> int:
        return sum(r.buffered for r in self._rotators.values())

    # ------------------------------------------------------------------ loop

    def _poll_once(self) -> None:
        messages = self.consumer.consume(num_messages=500, timeout=0.1)
        self.health.progressed()
        for msg in self._admit(messages, time.monotonic()):
            self._add(msg)
        self._write_pending()
        self._backpressure()

    def _admit(self, messages: list[Message], now: float) -> list[Message]:
        """The records the gap guard lets through: a partition handed an offset past one not
        read yet is sent back to it, until the late batch is stored or the wait ends."""
        if self.gaps is None:
            return messages
        kept, admitted = admit_messages(self.gaps, self.consumer, messages, now)
        log_gaps(self.log, admitted)
        return kept

    def _add(self, msg: Message) -> None:
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            if error.fatal():
                raise FatalStageError(f"fatal Kafka error: {error.str()}")
            self.log.warning("consumer error", error=error.str())
            return
        pos = (str(msg.topic()), int(msg.partition() or 0))
        rotator = self._rotators.get(pos)
        if rotator is None:
            return  # a record of a partition revoked since the fetch: the next owner has it
        key, value = msg.key(), msg.value()
        _, timestamp = msg.timestamp()
        record = ArchiveRecord(
            int(msg.offset() or 0),
            timestamp if timestamp and timestamp > 0 else None,
            key if isinstance(key, bytes) else None,
            value if isinstance(value, bytes) else b"",
        )
        if rotator.archived(record.offset):
            if not rotator.skipped:  # once per run of skipped records
                self.log.warning(
                    "partition sent back into a closed file: its records are skipped up to "
                    "the file's end, no file overlaps it",
                    partition=f"{pos[0]}:{pos[1]}",
                    offset=record.offset,
                    archived_to=rotator.archived_to,
                )
        elif rotator.sent_back(record.offset):
            self.log.warning(
                "partition sent back: the open file keeps its records before the offset",
                partition=f"{pos[0]}:{pos[1]}",
                offset=record.offset,
                buffered=rotator.buffered,
            )
        self._pending.extend(rotator.add(record))

    def _write_pending(self, *, force: bool = False) -> None:
        if not self._pending or (not force and time.monotonic() < self._retry_at):
            return
        while self._pending:
            closed = self._pending[0]
            try:
                self._write(closed)
            except ObjectStoreError as err:
                metrics.TRANSIENT.labels(**self.labels).inc()
                delay = self._backoff.next_delay()
                self._retry_at = time.monotonic() + delay
                self.log.warning("object store write failed; backing off", error=str(err))
                return
            self._pending.popleft()
            self._commit(closed)
        self._backoff = Backoff(0.2, 30.0)

    def _write(self, closed: ClosedFile) -> None:
        key = object_key(self.task, closed.topic, closed.partition, closed.start_offset)
        data = parquet.encode(
            closed.topic, closed.partition, closed.records, self.settings.compression
        )
        self.store.put_bytes(key, data, "application/vnd.apache.parquet")
        metrics.RECORDS.labels(**self.labels, outcome="emitted").inc(len(closed.records))
        self.log.info("archived", key=key, records=len(closed.records), bytes=len(data))

    def _commit(self, closed: ClosedFile) -> None:
        """Commit the end of a written file; a failed commit only means a rewrite later."""
        if (closed.topic, closed.partition) not in self._rotators:
            return  # revoked meanwhile: the new owner rewrites the same file
        offsets = [TopicPartition(closed.topic, closed.partition, closed.next_offset)]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except Exception as err:  # the object is written; a replay rewrites the same bytes
            self.log.warning("commit failed; the file will be rewritten", error=str(err))
            return
        metrics.COMMITS.labels(**self.labels).inc()

    def _backpressure(self) -> None:
        """Pause every partition while closed files wait for the object store."""
        waiting = bool(self._pending)
        if waiting == self._paused:
            return
        assignment = self.consumer.assignment()
        if waiting and assignment:
            self.consumer.pause(assignment)
        elif assignment:
            self.consumer.resume(assignment)
        self._paused = waiting
        metrics.PAUSED.labels(**self.labels).set(int(waiting))

    # ------------------------------------------------------------------ rebalances

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            pos = (tp.topic, tp.partition)
            self._rotators[pos] = Rotator(tp.topic, tp.partition, self.policy)
        self._expect_committed(consumer, partitions)
        if self._paused:
            consumer.pause(partitions)
        self.log.info("assigned", partitions=[f"{tp.topic}:{tp.partition}" for tp in partitions])

    def _expect_committed(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Where the gap guard expects each assigned partition to start: its committed offset
        (a first fetch past a batch not stored yet would start a file a replay never writes).
        A partition without one, or no answer, starts the count at its first record."""
        if self.gaps is None:
            return
        positions = [(tp.topic, tp.partition) for tp in partitions]
        self.gaps.forget(positions)
        try:
            committed = consumer.committed(partitions, timeout=COMMITTED_TIMEOUT_S)
        except KafkaException as err:
            self.log.warning(
                "committed offsets unavailable; gaps counted from the first record", error=str(err)
            )
            return
        for tp in committed:
            if tp.error is None and tp.offset >= 0:
                self.gaps.expect((tp.topic, tp.partition), tp.offset)

    def _on_drop(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Revoked or lost: closed files are written if possible, open ones dropped."""
        self._write_pending(force=True)
        dropped = {(tp.topic, tp.partition) for tp in partitions}
        if self.gaps is not None:
            self.gaps.forget(dropped)
        for pos in dropped:
            self._rotators.pop(pos, None)
        self._pending = deque(f for f in self._pending if (f.topic, f.partition) not in dropped)
        self.log.info("revoked", partitions=[f"{t}:{p}" for t, p in dropped])
