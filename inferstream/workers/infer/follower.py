"""Keeps an infer worker's in-memory state (the kNN index) in step with everything already
produced: rebuilt from Postgres on start, then the result topic from the sink's stored offsets
(the not-yet-sunk tail) and onwards, so results of other infer workers are seen too. The
worker's own results reach its index without the topic (after_durable); the follower fetches
them only when another producer's may be among them (own.py). Several infer workers write the
topic, so every read passes the gap guard (runtime/gaps.py; the worker setting
``offset_gap_wait_ms``): on the embedded broker a later batch can be fetched before an earlier
one is stored, and a follower moved past it would never index it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from inferstream.plugins import ResultFields, decode_result_fields
from inferstream.schemas import DecodeError
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.storage import offsets as offset_store
from inferstream.workers.infer.own import OwnResults, expected_ends, partition_of, proven
from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.gaps import GapGuard, admit_messages, log_gaps

log = structlog.get_logger("inferstream.infer.follower")
OFFSET_BEGINNING = -2
IDLE_POLLS_CAUGHT_UP = 4
# How often a quiet follower checks the partitions' ends (the background fetch wait of the
# embedded stack, which bounded the follower's lag before): see ResultFollower for the bound.
CHECK_INTERVAL_S = 1.0
ENDS_TIMEOUT_S = 2.0  # a check not answered by then is not proven (the follower reads)
# The end check's fetch wait: a fetch at a partition's end lists nothing on the embedded
# broker, so a short wait starves nothing; it only shortens the window in which a batch of
# this worker's own, landing during the check, makes it fail.
ENDS_FETCH_WAIT_MS = 10


def sink_offsets(postgres: PostgresSettings, sink_group: str, topic: str) -> dict[int, int]:
    """The sink's stored next offsets of ``topic``, by partition."""
    with psycopg.connect(postgres.conninfo()) as conn:
        stored = offset_store.load(conn, sink_group)
    return {p: o for (t, p), o in stored.items() if t == topic}


STARTUP_RETRY_S = 600.0


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    """The topic's partitions. The broker down while a worker starts (a stack restart, a broker
    kill or freeze: `inferstream chaos` seed 3 saw five infer starts exit 1 on 'Failed to get
    metadata') is waited for with backoff, as Postgres is, rather than a crash loop."""
    backoff = Backoff(0.5, 15.0)
    deadline = time.monotonic() + STARTUP_RETRY_S
    while True:
        try:
            found = consumer.list_topics(topic, timeout=15).topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                return sorted(found.partitions)
            problem = f"no partitions for {topic} (`inferstream topology apply` creates it)"
        except KafkaException as err:
            problem = str(err)
        if time.monotonic() > deadline:
            raise RuntimeError(f"result topic metadata unavailable: {problem}")
        delay = backoff.next_delay()
        log.warning("result topic unavailable at start; retrying", error=problem, retry_in_s=delay)
        time.sleep(delay)


class ResultFollower:
    """Reads the result topic into the index, in passes: from the sink's stored offsets to the
    end at start, then whenever the topic may hold a result of another producer. Between
    passes it does not fetch: every ``check_interval_s`` it asks for the partitions' ends only
    (a fetch at the expected end, which the broker answers with its high watermark and no
    record) and moves its positions past this worker's own results when nothing else was
    written (own.py says why that is a proof). A check waits for the moment after one of the
    worker's batches is acknowledged, at most ``check_interval_s`` more. So a result of another
    worker reaches the index within two ``check_interval_s`` plus one read (one interval plus a
    batch while the worker is busy); a check that fails starts a read at once, which goes on
    while other producers' results keep coming (as the follower always read before). A lone
    worker fetches none of its own results back."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        task: str,
        start_offsets: dict[int, int],
        observe: Callable[[Sequence[ResultFields]], None],
        own: OwnResults | None = None,
        check_interval_s: float = CHECK_INTERVAL_S,
        *,
        gap_wait_s: float,
    ) -> None:
        """``gap_wait_s``: the gap guard's wait (0: off): the worker setting
        ``offset_gap_wait_ms``, which the launcher passes through InferLogic (the embedded
        stack sets it)."""
        self.topic = topic
        self.task = task
        self.observe = observe
        self.own = own
        self.check_interval_s = check_interval_s
        name = f"inferstream.follow.{task}.{uuid.uuid4().hex[:8]}"
        # The reader holds its fetches long (off the records' path, and a short wait would
        # starve on a long partition history); the end check needs no record, so the short
        # wait answers it sooner, and it must never be reset to the beginning.
        self.consumer = Consumer(
            {**kafka.consumer_config(name, background=True), "enable.partition.eof": True}
        )
        self._ends = Consumer(
            {
                **kafka.consumer_config(f"{name}.ends"),
                "enable.partition.eof": True,
                "auto.offset.reset": "error",
                "fetch.wait.max.ms": ENDS_FETCH_WAIT_MS,
            }
        )
        partitions = _partitions(self.consumer, topic)
        self._positions = {p: start_offsets.get(p, OFFSET_BEGINNING) for p in partitions}
        self.gaps = GapGuard(gap_wait_s) if gap_wait_s > 0 else None
        self.stats = FollowerStats()
        self.caught_up = threading.Event()
        # Why the thread stopped, if it did on an error: the index then misses the results of
        # every other producer from there on, so infer's /ready says so (InferLogic.ready).
        self.failure: str | None = None
        self._stop = threading.Event()
        self._check_now = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="result-follower", daemon=True)

    def start(self, catch_up_timeout_s: float = 60.0) -> None:
        """Start following and wait (bounded) until the existing tail has been read."""
        self._thread.start()
        if not self.caught_up.wait(catch_up_timeout_s):
            log.warning("result tail not fully read before starting", timeout_s=catch_up_timeout_s)

    def check_now(self) -> None:
        """Check the ends at once instead of at the next interval (tests)."""
        self._check_now.set()

    def _loop(self) -> None:
        try:
            self._follow()
        except Exception as err:
            self.failure = f"{type(err).__name__}: {err}"
            log.exception("result follower stopped: the dedup index no longer follows the topic")

    def _follow(self) -> None:
        skipped = False
        while not self._stop.is_set():
            if not skipped:
                self._read()
            self._wait_for_check()
            skipped = not self._stop.is_set() and self._skip_own()

    def _wait_for_check(self) -> None:
        """Wait out the interval, then (at most as long again) for the worker's next batch to
        be acknowledged: right after one the check does not race its produce."""
        if self._check_now.wait(self.check_interval_s) or self.own is None:
            self._check_now.clear()
            return
        self.own.acknowledged.clear()
        self.own.acknowledged.wait(self.check_interval_s)

    def _skip_own(self) -> bool:
        """Move past our own unread results without fetching them, if the partitions' ends
        prove nothing else is there; False (then the follower reads) otherwise."""
        if self.own is None:
            return False
        durable = self.own.snapshot()
        expected = expected_ends(self._positions, durable)
        if (
            expected is None
            or not self.stats.partitions_guessed
            or not proven(expected, self._reported_ends(expected))
        ):
            self.stats.checks_failed += 1
            return False
        self.own.settle(durable)
        self._positions = expected
        self.stats.checks_passed += 1
        self.stats.own_skipped += len(durable)
        return True

    def _reported_ends(self, expected: dict[int, int]) -> dict[int, int]:
        """Each partition's end as a fetch at ``expected`` reports it; a partition that returns
        a record or an error instead is left out (not proven)."""
        self._ends.assign([TopicPartition(self.topic, p, o) for p, o in expected.items()])
        ends: dict[int, int] = {}
        deadline = time.monotonic() + ENDS_TIMEOUT_S
        try:
            while len(ends) < len(expected) and time.monotonic() < deadline:
                if self._stop.is_set():
                    return ends
                msg = self._ends.poll(0.05)
                if msg is None:
                    if self._past(expected):
                        return ends
                    continue
                error = msg.error()
                if error is None or error.code() != KafkaError._PARTITION_EOF:
                    return ends  # a record past what we know of, or out of range
                partition = int(msg.partition() or 0)
                _, high = self._ends.get_watermark_offsets(
                    TopicPartition(self.topic, partition), cached=True
                )
                # Both the event's offset and the fetch response's high watermark.
                if msg.offset() == high:
                    ends[partition] = int(high)
        finally:
            self._ends.unassign()
        return ends

    def _past(self, expected: dict[int, int]) -> bool:
        """A fetch response has reported a partition end beyond the expected one."""
        for partition, end in expected.items():
            _, high = self._ends.get_watermark_offsets(
                TopicPartition(self.topic, partition), cached=True
            )
            if high > end:
                return True
        return False

    def _read(self) -> None:
        """Read from the positions until every partition has reached its end in a pass that
        found no result of another producer (one that did may be followed by more)."""
        self.consumer.assign([TopicPartition(self.topic, p, o) for p, o in self._positions.items()])
        self._expect_positions()
        try:
            at_end: set[int] = set()  # at their end now (no record since the end was reported)
            reached: set[int] = set()  # at their end at least once in this pass
            others, idle = False, 0
            while not self._stop.is_set():
                messages = self.consumer.consume(num_messages=500, timeout=0.5)
                idle = 0 if messages else idle + 1
                others = self._take(self._admit(messages), at_end, reached) or others
                # Every partition at its end, or (in case the end is never reported) a few
                # empty polls in a row; never while a gap is open (the pass would end before
                # the late batch, and start the next one there anyway).
                if self.gaps is not None and self.gaps.waiting():
                    continue
                if reached >= self._positions.keys() or idle >= IDLE_POLLS_CAUGHT_UP:
                    self.caught_up.set()
                    if not others:
                        return
                    reached, others, idle = set(at_end), False, 0
        finally:
            self.consumer.unassign()

    def _expect_positions(self) -> None:
        """A pass starts each partition at its known position: the gap guard checks the first
        record against it (one read from the beginning sets the count at its first record)."""
        if self.gaps is None:
            return
        self.gaps.forget((self.topic, p) for p in self._positions)
        for partition, offset in self._positions.items():
            if offset >= 0:
                self.gaps.expect((self.topic, partition), offset)

    def _admit(self, messages: list[Message]) -> list[Message]:
        """The messages the gap guard lets through. A partition sent back to the offset it
        expected also loses this poll's end-of-partition event: that end lies past the gap."""
        if self.gaps is None:
            return messages
        kept, admitted = admit_messages(self.gaps, self.consumer, messages, time.monotonic())
        log_gaps(log, admitted)
        if not admitted.seeks:
            return kept
        sent_back = {partition for _, partition in admitted.seeks}
        return [m for m in kept if m.error() is None or m.partition() not in sent_back]

    def _take(self, messages: Sequence[Message], at_end: set[int], reached: set[int]) -> bool:
        """Decode and observe other producers' results; True if there was one."""
        results: list[ResultFields] = []
        others = False
        for msg in messages:
            partition = int(msg.partition() or 0)
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(partition)
                    reached.add(partition)
                    end = msg.offset()
                    if end is not None and end > self._positions[partition]:
                        self._positions[partition] = end
                continue
            self._positions[partition] = int(msg.offset() or 0) + 1
            at_end.discard(partition)
            key = msg.key()
            key = key if isinstance(key, bytes) else None
            if self.own is not None and self.own.take(key):
                self.stats.own_read += 1
                if key is not None and partition_of(key, len(self._positions)) != partition:
                    self._partitions_not_guessed()
                continue  # already in the index (this worker produced it)
            others = True
            self.stats.others_read += 1
            try:
                value = msg.value()
                # Plain fields, structure checked (no pydantic per result): the inferer
                # reads a few of them, the sink dead-letters a malformed one.
                results.append(
                    decode_result_fields(self.task, value if isinstance(value, bytes) else b"")
                )
            except DecodeError:
                continue  # the sink dead-letters it; the index just skips it
        if results:
            self.observe(results)
        return others

    def _partitions_not_guessed(self) -> None:
        if self.stats.partitions_guessed:
            self.stats.partitions_guessed = False
            log.warning(
                "own results not where the default partitioner puts them: reading them back",
                topic=self.topic,
            )

    def stop(self) -> None:
        self._stop.set()
        self._check_now.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)
        self.consumer.close()
        self._ends.close()
        log.info("result follower stopped", topic=self.topic, **asdict(self.stats))


@dataclass
class FollowerStats:
    own_read: int = 0  # own results fetched back (skipped undecoded)
    own_skipped: int = 0  # own results passed without fetching them
    others_read: int = 0  # results of other producers, decoded
    checks_passed: int = 0
    checks_failed: int = 0
    partitions_guessed: bool = True  # own results land where partition_of says
