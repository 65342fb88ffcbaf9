"""Collect the facts `verify` checks: topics read back to their end, Postgres, S3."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from inferstream.schemas import decode_envelope, decode_result
from inferstream.settings import KafkaSettings, ObjectStoreSettings, PostgresSettings
from inferstream.storage import ObjectStore
from inferstream.tasks.plugin import load_plugin
from inferstream.topology import DEADLETTER_TOPIC, TASK_TOPIC_KINDS, group_id, topic_name
from inferstream.verify.checks import DeadLetter, Facts, Published, Row, merge_result_ids
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord

IDLE_S = 3.0


def read_all(kafka: KafkaSettings, topic: str, deadline_s: float = 300.0) -> Iterator[Message]:
    """Every message of every partition, from the beginning to the end as of now."""
    consumer = Consumer(
        {
            **kafka.consumer_config(f"inferstream.verify.{uuid.uuid4().hex[:8]}"),
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, -2) for p in partitions])
        at_end: set[int] = set()
        deadline = time.monotonic() + deadline_s
        last = time.monotonic()
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to the end within {deadline_s:.0f}s")
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            if batch:
                last = time.monotonic()
            elif time.monotonic() - last > IDLE_S:
                break  # approximate watermarks on the embedded broker: idle means done
            for msg in batch:
                error = msg.error()
                if error is None:
                    yield msg
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(int(msg.partition() or 0))
    finally:
        consumer.close()


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
    pairs: list[tuple[str, str]] = []
    results_topic = topic_name("results", task)
    for msg in read_all(kafka, results_topic):
        record = InRecord.from_message(msg)
        end_offsets[record.position] = max(end_offsets.get(record.position, 0), record.offset + 1)
        try:
            result = decode_result(task, record.value)
        except ValueError:
            continue
        pairs.append((result.submission_id, result.result_id))
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
            DeadLetter(sid, str(t), int(p), int(o), str(reason))
            for sid, t, p, o, reason in conn.execute(
                "SELECT submission_id, original_topic, original_partition, original_offset, reason "
                "FROM dead_letters WHERE task = %s",
                (task,),
            )
        ]
        stored = {
            (str(t), int(p)): int(o)
            for t, p, o in conn.execute(
                "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = %s",
                (sink_group,),
            )
        }
    store = ObjectStore(ObjectStoreSettings.load())
    prefix = f"artifacts/{task}/"
    artifacts = {key[len(prefix) :].split("/")[0] for key in store.list_keys(prefix)}
    return Facts(
        published=published,
        rows=rows,
        result_messages=merge_result_ids(pairs),
        dead_letters=dead,
        artifacts=artifacts,
        stored_offsets=stored,
        end_offsets=end_offsets,
    )
