"""Collect the facts `verify` checks: topics read back to their end, and Postgres."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import psycopg
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from inferstream.plugins import load_plugin
from inferstream.schemas import decode_envelope, decode_result
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.storage import offsets as offset_store
from inferstream.topology import DEADLETTER_TOPIC, TASK_TOPIC_KINDS, group_id, topic_name
from inferstream.verify.archive import by_partition, collect_archive
from inferstream.verify.artifacts import rows_with_artifacts
from inferstream.verify.checks import DeadLetter, Facts, Published, Row, merge_result_ids
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord

STABLE_S = 1.0  # a partition's end must hold this long with no new record


def read_all(kafka: KafkaSettings, topic: str, deadline_s: float = 300.0) -> Iterator[Message]:
    """Every message of every partition, from the beginning to the high watermarks.

    Tansu's ListOffsets answer is not the end of a partition for multi-record batches (measured:
    1 for a partition of 1,251 records, docs/architecture.md), so a partition counts as read when
    the consumer's position has reached the high watermark of the fetch responses (the
    partition-EOF event) and at least the listed end, and stayed there STABLE_S with no new
    record. Records that never arrive make it a TimeoutError, never a silent short read."""
    consumer = Consumer(
        {
            **kafka.consumer_config(f"inferstream.verify.{uuid.uuid4().hex[:8]}"),
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        position = dict.fromkeys(partitions, 0)
        at_end_since: dict[int, float] = {}
        deadline = time.monotonic() + deadline_s
        while not _all_read(consumer, topic, position, at_end_since):
            if time.monotonic() > deadline:
                waiting = sorted(set(partitions) - set(at_end_since))
                raise TimeoutError(
                    f"{topic}: not read to the end within {deadline_s:.0f}s "
                    f"(positions {position}, partitions not at their end: {waiting})"
                )
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                part, error = int(msg.partition() or 0), msg.error()
                if error is None:
                    position[part] = int(msg.offset() or 0) + 1
                    at_end_since.pop(part, None)
                    yield msg
                elif error.code() == KafkaError._PARTITION_EOF:
                    position[part] = max(position[part], int(msg.offset() or 0))
                    at_end_since.setdefault(part, time.monotonic())
                elif error.fatal():
                    raise KafkaException(error)
    finally:
        consumer.close()


def _all_read(
    consumer: Consumer, topic: str, position: dict[int, int], at_end_since: dict[int, float]
) -> bool:
    now = time.monotonic()
    if len(at_end_since) < len(position) or any(
        now - since < STABLE_S for since in at_end_since.values()
    ):
        return False
    for part in position:
        _, listed = consumer.get_watermark_offsets(
            TopicPartition(topic, part), timeout=10, cached=False
        )
        if position[part] < listed:
            at_end_since.pop(part)  # the broker lists more than the fetches showed: keep reading
    return len(at_end_since) == len(position)


def collect(task: str, group_prefix: str = "inferstream") -> Facts:
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    plugin = load_plugin(task)
    enrich = EnrichLogic(plugin)  # the same validation the pipeline applies
    published: list[Published] = []
    for msg in read_all(kafka, topic_name("submissions", task)):
        record = InRecord.from_message(msg)
        outcome = enrich.enrich_one(record)
        key = record.key.decode(errors="replace") if record.key else None
        valid = isinstance(outcome, Emit)
        # The enriched record's key may be a task's partition key (anomaly: the series), so
        # the submission id is read from the envelope itself.
        envelope = decode_envelope(task, record.value) if valid else None
        sid = envelope.submission_id if envelope is not None else key
        source = envelope.source if envelope is not None else None
        published.append(
            Published(sid, record.topic, record.partition, record.offset, valid, source)
        )
    end_offsets: dict[tuple[str, int], int] = {}
    # (submission_id, result_id, topic position, offset) of every result message.
    results: list[tuple[str, str, tuple[str, int], int]] = []
    results_topic = topic_name("results", task)
    for msg in read_all(kafka, results_topic):
        record = InRecord.from_message(msg)
        end_offsets[record.position] = max(end_offsets.get(record.position, 0), record.offset + 1)
        try:
            result = decode_result(task, record.value)
        except ValueError:
            continue
        results.append((result.submission_id, result.result_id, record.position, record.offset))
    # The dead-letter topic is shared by every task: this task's sink must have consumed past
    # its own task's dead letters; other tasks' later ones are their sinks' business (a sink
    # that is not running while another task dead-letters is not behind on anything it owns).
    own_topics = {topic_name(kind, task) for kind in TASK_TOPIC_KINDS}
    for msg in read_all(kafka, DEADLETTER_TOPIC):
        record = InRecord.from_message(msg)
        if (record.header("x-original-topic") or "") in own_topics:
            end = max(end_offsets.get(record.position, 0), record.offset + 1)
            end_offsets[record.position] = end
    sink_group = group_id("sink", task, group_prefix)
    with psycopg.connect(postgres.conninfo()) as conn:
        rows = [
            Row(str(s), str(r).strip())
            for s, r in conn.execute(f"SELECT submission_id, result_id FROM {plugin.table.name}")
        ]
        dead = [
            DeadLetter(sid, str(t), int(p), int(o), str(reason), str(stage), str(kind))
            for sid, t, p, o, reason, stage, kind in conn.execute(
                "SELECT submission_id, original_topic, original_partition, original_offset, "
                "reason, stage, kind FROM dead_letters WHERE task = %s",
                (task,),
            )
        ]
        stored = offset_store.load(conn, sink_group)
        artifacts = rows_with_artifacts(task, conn)
    return Facts(
        published=published,
        rows=rows,
        result_messages=merge_result_ids((sid, rid) for sid, rid, _, _ in results),
        dead_letters=dead,
        # Only media keeps objects per result; the rest reach S3 through the archive (checked
        # on its own).
        artifacts=artifacts,
        stored_offsets=stored,
        end_offsets=end_offsets,
        sink_consumed=_sink_consumed(results, stored),
        archive=collect_archive(task, kafka, group_prefix, by_partition(results)),
    )


def _sink_consumed(
    results: list[tuple[str, str, tuple[str, int], int]],
    stored: dict[tuple[str, int], int],
) -> dict[str, int]:
    """Result messages per submission below the sink's committed offsets: the sink stores them
    in the transaction of its inserts, so each of these met INSERT ... ON CONFLICT once."""
    consumed: Counter[str] = Counter()
    for sid, _, position, offset in results:
        if offset < stored.get(position, 0):
            consumed[sid] += 1
    return dict(consumed)
