"""The shadow run: the shadow alias's version on the same input as production, results into
``model_results`` (kind ``shadow``) only: never on results.<task>, never in results_<task>.

Its own consumer group (``<prefix>.shadow.<task>``) on enriched.<task>, beside the infer
stage's group, so production's pace and offsets are untouched. Each batch's rows and the
group's next offsets are written in one Postgres transaction, and the group starts from the
offsets stored there (the sink's exactly-once argument): a crash replays uncommitted batches,
whose rows (keyed by task, submission, model and version) are skipped by ON CONFLICT. A new
shadow group starts at the topic's end: it compares live traffic from its start on.

Only rows of the version the shadow alias names are kept: without a shadow alias (or while a
new one loads) the batch's offsets advance and nothing is written.

Postgres unavailable: the same batch is retried with backoff (nothing was committed for it),
and the run goes on when Postgres is back, instead of exiting.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import psycopg
import structlog
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from psycopg.types.json import Jsonb

from inferstream.plugins import EnrichedItem, Inferer, ResultFields, TaskPlugin
from inferstream.retry import Backoff
from inferstream.schemas import DecodeError, get_task
from inferstream.settings import KafkaSettings
from inferstream.storage import offsets
from inferstream.topology import topic_name
from inferstream.workers.infer.driver import decode_enriched

log = structlog.get_logger("inferstream.shadow")
Position = tuple[str, int]
OFFSET_END = -1
RETRY_FIRST_S = 0.5  # the infer stage's own retry policy (driver.py): the same wait
RETRY_MAX_S = 15.0


def shadow_group(task: str, prefix: str) -> str:
    return f"{prefix}.shadow.{task}"


class ShadowWorker:
    def __init__(
        self,
        plugin: TaskPlugin,
        inferer: Inferer,
        kafka: KafkaSettings,
        conninfo: str,
        group: str,
        shadow_version: Callable[[], str | None],
        batch_items: int = 256,
    ) -> None:
        self.leave_group = kafka.leave_group_on_close
        self.plugin, self.inferer, self.group = plugin, inferer, group
        self.task = plugin.name
        self.topic = topic_name("enriched", self.task)
        self.envelope_model = get_task(self.task).envelope_model
        self.consumer = Consumer({**kafka.consumer_config(group), "client.id": group})
        self.conninfo = conninfo
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.shadow_version = shadow_version
        self.batch_items = batch_items
        self._stopping = False

    def request_stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign)
        try:
            while not self._stopping:
                messages = self.consumer.consume(num_messages=self.batch_items, timeout=0.5)
                good = [m for m in messages if usable(m)]
                if good:
                    self._process_until_written(good)
        finally:
            if self.leave_group:  # else the broker evicts the member (KafkaSettings)
                self.consumer.close()
            self.conn.close()

    def _process_until_written(self, messages: Sequence[Message]) -> None:
        """The batch, retried with backoff while Postgres is unavailable (its rows and offsets
        are one transaction: a failed try left nothing behind)."""
        backoff = Backoff(RETRY_FIRST_S, RETRY_MAX_S)
        while True:
            try:
                if self.conn.closed:
                    self.conn = psycopg.connect(self.conninfo, autocommit=True)
                self._process(messages)
                return
            except psycopg.OperationalError as err:
                if self._stopping:
                    raise
                delay = backoff.next_delay()
                log.warning(
                    "Postgres unavailable; retrying the batch", error=str(err), in_s=round(delay, 3)
                )
                time.sleep(delay)  # backoff between tries, not synchronisation
                with contextlib.suppress(psycopg.Error):
                    self.conn.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = offsets.load(self.conn, self.group)
        start = [
            TopicPartition(tp.topic, tp.partition, stored.get((tp.topic, tp.partition), OFFSET_END))
            for tp in partitions
        ]
        consumer.incremental_assign(start)
        log.info(
            "shadow assigned", partitions={f"{t.topic}:{t.partition}": t.offset for t in start}
        )

    def _process(self, messages: Sequence[Message]) -> None:
        items: list[EnrichedItem] = []
        for msg in messages:
            try:
                items.append(
                    decode_enriched(
                        bytes(msg.value() or b""), self.envelope_model, self.plugin.enrichment_model
                    )
                )
            except DecodeError:
                continue  # the infer stage dead-letters it; the shadow only skips it
        version = self.shadow_version()
        started = time.perf_counter()
        results = self.inferer.run(items, self.inferer.prepare(items)) if items else []
        per_record_ms = (time.perf_counter() - started) * 1000 / max(1, len(items))
        kept = [r for r in results if version is not None and r["model_version"] == version]
        next_offsets: dict[Position, int] = {}
        for msg in messages:
            pos = (str(msg.topic()), int(msg.partition() or 0))
            next_offsets[pos] = max(next_offsets.get(pos, 0), int(msg.offset() or 0) + 1)
        with self.conn.transaction():
            write_results(self.conn, self.task, kept, per_record_ms)
            offsets.store(self.conn, self.group, next_offsets)


def usable(msg: Message) -> bool:
    """A fetched message with a record (end-of-partition events are dropped; errors logged)."""
    error = msg.error()
    if error is None:
        return True
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("consumer error", error=error.str())
    return False


def write_results(
    conn: psycopg.Connection[Any],
    task: str,
    results: list[ResultFields],
    ms: float | None,
    kind: str = "shadow",
) -> int:
    """Rows into model_results; a (task, submission, model, version) already there is
    skipped. How many were new."""
    if not results:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO model_results (task, submission_id, model_name, model_version, kind, "
            "result_id, result, latency_ms, produced_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (
                    task,
                    r["submission_id"],
                    r["model_name"],
                    r["model_version"],
                    kind,
                    r["result_id"],
                    Jsonb(orjson.loads(orjson.dumps(r, default=str))),
                    ms,
                    r["produced_at"],
                )
                for r in results
            ],
        )
        return max(0, cur.rowcount)
