"""When a chaos run has drained: every row is in, and the sink has consumed its inputs to the end.

Rows alone are not enough. After worker kills and restarts, infer re-produces results that
already have a row (same result id), and these redeliveries can sit at the end of the results
topic after the last new row landed. If the run stops its workers then, the sink's stored
offsets are left short of the topic's end, and `verify` rightly reports "sink offset not at
the end" and redeliveries the sink has not absorbed (seed 1, 2026-12-06: 500/500 rows, but 88
result messages behind, the sink in its backoff after a Postgres outage).

Nor is a sink at the end of its inputs: a stage before it may still redo a batch. Infer, its
output producer replaced after a broker fault, backed off with a batch whose results had been
stored already; the sink was at the end, the run stopped its workers, and infer's retry had put
9 more redeliveries on results.media by then, behind the sink's offsets (seed 5 with --media,
2026-12-06). So the stages before the sink must first have committed their inputs to the end:
nothing they produced can then be produced again, and the sink's end is final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg
from confluent_kafka import Consumer, TopicPartition

from inferstream.readback import read_all
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.storage import offsets as offset_store
from inferstream.topology import DEADLETTER_TOPIC, TASK_TOPIC_KINDS, group_id, topic_name
from inferstream.workers.runtime.records import InRecord

Position = tuple[str, int]
READ_DEADLINE_S = 60.0
# The stages before the sink, and the kind of topic each consumes.
UPSTREAM = (("enrich", "submissions"), ("infer", "enriched"))


def input_ends(task: str) -> dict[Position, int]:
    """Per partition of the sink's inputs, the offset after the last record it must consume:
    the results topic's end, and the end of this task's own dead letters (other tasks' dead
    letters, later in the shared topic, are their sinks' business), as `verify` counts them."""
    kafka = KafkaSettings.load()
    results = [
        InRecord.from_message(m)
        for m in read_all(kafka, topic_name("results", task), READ_DEADLINE_S)
    ]
    dead = [InRecord.from_message(m) for m in read_all(kafka, DEADLETTER_TOPIC, READ_DEADLINE_S)]
    return ends_of(task, results, dead)


def ends_of(
    task: str, results: Iterable[InRecord], dead_letters: Iterable[InRecord]
) -> dict[Position, int]:
    """``input_ends`` from the records read: every result counts, a dead letter only when it
    came from one of this task's own topics (its x-original-topic header)."""
    own_topics = {topic_name(kind, task) for kind in TASK_TOPIC_KINDS}
    ends: dict[Position, int] = {}
    mine = (r for r in dead_letters if (r.header("x-original-topic") or "") in own_topics)
    for record in (*results, *mine):
        ends[record.position] = max(ends.get(record.position, 0), record.offset + 1)
    return ends


def behind(
    ends: Mapping[Position, int], stored: Mapping[Position, int]
) -> dict[Position, tuple[int, int]]:
    """Partitions whose stored offset is short of their end: position -> (stored, end); a
    partition with no stored offset counts from 0."""
    return {pos: (stored.get(pos, 0), end) for pos, end in ends.items() if stored.get(pos, 0) < end}


def sink_behind(task: str, group_prefix: str = "inferstream") -> dict[Position, tuple[int, int]]:
    """Partitions where the sink's offsets stored in Postgres are short of ``input_ends``:
    position -> (stored, end). Empty once it has consumed everything. Raises psycopg's
    OperationalError or TimeoutError while a server is unreachable (the caller retries)."""
    ends = input_ends(task)
    with psycopg.connect(PostgresSettings.load().conninfo(), connect_timeout=5) as conn:
        stored = offset_store.load(conn, group_id("sink", task, group_prefix))
    return behind(ends, stored)


def inputs_behind(
    kafka: KafkaSettings, consumed: Iterable[tuple[str, str]]
) -> dict[Position, tuple[int, int]]:
    """For each (consumer group, topic): the partitions whose committed offset (in Kafka) is
    short of the topic's end, position -> (committed, end); a partition never committed counts
    from 0."""
    late: dict[Position, tuple[int, int]] = {}
    for group, topic in consumed:
        ends: dict[Position, int] = {}
        for message in read_all(kafka, topic, READ_DEADLINE_S):
            record = InRecord.from_message(message)
            ends[record.position] = max(ends.get(record.position, 0), record.offset + 1)
        late.update(behind(ends, _committed(kafka, group, ends)))
    return late


def _committed(
    kafka: KafkaSettings, group: str, positions: Iterable[Position]
) -> dict[Position, int]:
    wanted = [TopicPartition(topic, partition) for topic, partition in positions]
    if not wanted:
        return {}
    # OffsetFetch only: a consumer that never subscribes does not join the group.
    consumer = Consumer(kafka.consumer_config(group))
    try:
        found = consumer.committed(wanted, timeout=30)
    finally:
        consumer.close()
    return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}


def pipeline_behind(
    task: str, group_prefix: str = "inferstream"
) -> dict[Position, tuple[int, int]]:
    """What the task's pipeline still owes: first the stages before the sink (their committed
    offsets against their inputs' ends), and only once they owe nothing, the sink
    (``sink_behind``); empty when drained. Raises like ``sink_behind``, and KafkaException."""
    kafka = KafkaSettings.load()
    consumed = [
        (group_id(stage, task, group_prefix), topic_name(kind, task)) for stage, kind in UPSTREAM
    ]
    return inputs_behind(kafka, consumed) or sink_behind(task, group_prefix)
