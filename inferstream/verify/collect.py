"""Collect the facts `verify` checks: topics read back to their end (inferstream/readback.py),
and Postgres."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import psycopg

from inferstream.plugins import load_plugin
from inferstream.readback import read_all
from inferstream.schemas import decode_envelope, decode_result
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.storage import offsets as offset_store
from inferstream.topology import DEADLETTER_TOPIC, TASK_TOPIC_KINDS, group_id, topic_name
from inferstream.verify.archive import by_partition, collect_archive, committed_offsets
from inferstream.verify.artifacts import rows_with_artifacts
from inferstream.verify.checks import DeadLetter, Facts, Published, Row, merge_result_ids
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord

__all__ = ["collect", "stage_lag"]


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


def stage_lag(task: str, facts: Facts, group_prefix: str = "inferstream") -> dict[str, int]:
    """Records each stage has not committed yet: its input's end (read back: Tansu's listed
    offsets are not the ends) minus its committed offsets (the sink's: in Postgres). verify
    reads a moment: while records flow, a submission in flight has no row yet and counts as
    lost; this tells that apart from a loss."""
    kafka = KafkaSettings.load()
    submissions, enriched = topic_name("submissions", task), topic_name("enriched", task)
    ends = {
        submissions: _ends((p.partition, p.offset) for p in facts.published),
        enriched: _ends((m.partition(), m.offset()) for m in read_all(kafka, enriched)),
    }
    lag: dict[str, int] = {}
    for stage, topic in (("enrich", submissions), ("infer", enriched)):
        committed = committed_offsets(kafka, group_id(stage, task, group_prefix), topic)
        lag[stage] = sum(max(0, end - committed.get(p, 0)) for p, end in ends[topic].items())
    results = topic_name("results", task)
    lag["sink"] = sum(
        max(0, end - facts.stored_offsets.get(position, 0))
        for position, end in facts.end_offsets.items()
        if position[0] == results
    )
    return lag


def _ends(offsets: Iterable[tuple[int | None, int | None]]) -> dict[int, int]:
    ends: dict[int, int] = {}
    for partition, offset in offsets:
        if partition is not None and offset is not None:
            ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends
