"""Re-inference of a task's enriched input with one chosen version, into ``model_results``
(kind ``backfill``): what a version would have answered, beside what was served.

The input is enriched.<task> (validated once, at enrich), every partition from its start, kept
where the record's timestamp is in [since, until); the job ends when no record has come for
IDLE_S (the embedded broker's high watermarks lag multi-record batches, so they cannot mark
the end: a job bounded by them re-inferred 2 of the integration test's 50 records). Nothing is
committed to the broker (the job assigns partitions itself) and the served rows are never
touched. Rows are keyed by (task, submission, model, version): a rerun, or an overlapping
range, writes nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
import structlog
from confluent_kafka import Consumer, Message, TopicPartition

from inferstream.plugins import EnrichedItem, Inferer, TaskPlugin
from inferstream.schemas import DecodeError, get_task
from inferstream.settings import KafkaSettings
from inferstream.topology import topic_name
from inferstream.workers.infer.driver import decode_enriched
from inferstream.workers.infer.shadow import usable, write_results

log = structlog.get_logger("inferstream.backfill")
OFFSET_BEGINNING = -2
IDLE_S = 3.0  # no record for this long: the end of every partition
FIRST_WAIT_S = 30.0  # the first fetch from an s3:// broker can take seconds under load


@dataclass
class BackfillReport:
    read: int = 0
    in_range: int = 0
    written: int = 0
    partitions: int = 0


def backfill(
    plugin: TaskPlugin,
    inferer: Inferer,
    kafka: KafkaSettings,
    conninfo: str,
    group: str,
    since_ms: int | None,
    until_ms: int | None,
    batch_items: int = 256,
) -> BackfillReport:
    topic = topic_name("enriched", plugin.name)
    consumer = Consumer({**kafka.consumer_config(group), "client.id": group})
    report = BackfillReport()
    try:
        partitions = _partitions(consumer, topic)
        report.partitions = len(partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        idle_since = time.monotonic()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while time.monotonic() - idle_since < (IDLE_S if report.read else FIRST_WAIT_S):
                messages = [m for m in consumer.consume(batch_items, timeout=0.5) if usable(m)]
                if not messages:
                    continue
                idle_since = time.monotonic()
                report.read += len(messages)
                chosen = [m for m in messages if _in_range(m, since_ms, until_ms)]
                report.in_range += len(chosen)
                report.written += _infer(conn, plugin, inferer, chosen)
    finally:
        consumer.close()
    return report


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=30).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise ValueError(f"topic {topic} does not exist")
    return sorted(metadata.partitions)


def _in_range(msg: Message, since_ms: int | None, until_ms: int | None) -> bool:
    _, ts = msg.timestamp()
    if since_ms is not None and ts < since_ms:
        return False
    return until_ms is None or ts < until_ms


def _infer(
    conn: psycopg.Connection[tuple[object, ...]],
    plugin: TaskPlugin,
    inferer: Inferer,
    messages: list[Message],
) -> int:
    envelope_model = get_task(plugin.name).envelope_model
    items: list[EnrichedItem] = []
    for msg in messages:
        try:
            items.append(
                decode_enriched(bytes(msg.value() or b""), envelope_model, plugin.enrichment_model)
            )
        except DecodeError:
            continue  # dead-lettered by the infer stage; nothing to re-infer
    if not items:
        return 0
    started = time.perf_counter()
    results = inferer.run(items, inferer.prepare(items))
    ms = (time.perf_counter() - started) * 1000 / len(items)
    return write_results(conn, plugin.name, results, ms, kind="backfill")
