"""Keeps an infer worker's in-memory state (the kNN index) in step with everything already
produced: rebuilt from Postgres on start, then the result topic from the sink's stored offsets
(the not-yet-sunk tail) and onwards, so results of other infer workers are seen too."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from inferstream.plugins import ResultFields, decode_result_fields
from inferstream.schemas import DecodeError
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.storage import offsets as offset_store
from inferstream.workers.runtime.backoff import Backoff

log = structlog.get_logger("inferstream.infer.follower")
OFFSET_BEGINNING = -2
IDLE_POLLS_CAUGHT_UP = 4


def sink_offsets(postgres: PostgresSettings, sink_group: str, topic: str) -> dict[int, int]:
    """The sink's stored next offsets of ``topic``, by partition."""
    with psycopg.connect(postgres.conninfo()) as conn:
        stored = offset_store.load(conn, sink_group)
    return {p: o for (t, p), o in stored.items() if t == topic}


class OwnResults:
    """Keys of the results this worker produced, until the follower reads them back.

    The worker puts its own results into the index itself (``InferLogic.after_durable``), so the
    follower need not decode them again: parsing every result (384 floats each) cost ~5 % of an
    infer worker's CPU. A key is added before the result is produced, so the follower never
    reads one it does not know yet, and removed when read, so the set holds at most the lag."""

    def __init__(self) -> None:
        self._keys: set[bytes] = set()
        self._lock = threading.Lock()

    def add(self, keys: Sequence[bytes]) -> None:
        with self._lock:
            self._keys.update(keys)

    def take(self, key: bytes | None) -> bool:
        """True (and forgotten) when ``key`` is one of ours."""
        if key is None:
            return False
        with self._lock:
            if key in self._keys:
                self._keys.discard(key)
                return True
        return False

    def __len__(self) -> int:
        return len(self._keys)


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
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        task: str,
        start_offsets: dict[int, int],
        observe: Callable[[Sequence[ResultFields]], None],
        own: OwnResults | None = None,
    ) -> None:
        self.topic = topic
        self.task = task
        self.observe = observe
        self.own = own
        # Background fetch wait: this worker's own results reach its index without the
        # follower (after_durable); it carries the other workers' ones, which may lag a second.
        config = kafka.consumer_config(
            f"inferstream.follow.{task}.{uuid.uuid4().hex[:8]}", background=True
        )
        self.consumer = Consumer({**config, "enable.partition.eof": True})
        partitions = _partitions(self.consumer, topic)
        self.consumer.assign(
            [TopicPartition(topic, p, start_offsets.get(p, OFFSET_BEGINNING)) for p in partitions]
        )
        self._at_end: set[int] = set()
        self._partitions = set(partitions)
        self.caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="result-follower", daemon=True)

    def start(self, catch_up_timeout_s: float = 60.0) -> None:
        """Start following and wait (bounded) until the existing tail has been read."""
        self._thread.start()
        if not self.caught_up.wait(catch_up_timeout_s):
            log.warning("result tail not fully read before starting", timeout_s=catch_up_timeout_s)

    def _loop(self) -> None:
        idle = 0
        while not self._stop.is_set():
            messages = self.consumer.consume(num_messages=500, timeout=0.5)
            results: list[ResultFields] = []
            for msg in messages:
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        self._at_end.add(int(msg.partition() or 0))
                    continue
                if self.own is not None and self.own.take(msg.key()):
                    continue  # already in the index (this worker produced it)
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
            idle = 0 if messages else idle + 1
            # At the end of every partition, or (watermarks of the embedded broker being
            # approximate) after a few empty polls in a row.
            if self._at_end >= self._partitions or idle >= IDLE_POLLS_CAUGHT_UP:
                self.caught_up.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.consumer.close()
