"""Where a record's latency goes, for `bench latency`: each submission's time split at the
timestamps the pipeline already carries, with no trace of its own.

- publish: the envelope's ``submitted_at`` (set just before produce);
- enriched: the Kafka timestamp of enrich's output record (CreateTime: when enrich handed it to
  its producer, after its fetch, batch and processing, before its flush);
- result: the result's ``produced_at`` (infer stamps it once the batch's model and scoring are
  done, before its flush);
- row: ``created_at``, the sink transaction's start.

So "enrich" is the publisher's send, the broker's write, enrich's fetch, batch and work;
"infer" is enrich's flush, infer's fetch, batch, tokenising, model and scoring; "sink" is
infer's flush, the sink's fetch and batch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

from inferstream.bench.harness import TABLE, TASK, BenchStack
from inferstream.bench.report import percentile

HOPS = ("enrich", "infer", "sink")
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Split:
    """p50 and p99 seconds of each hop (HOPS order); NaN where nothing was measured."""

    p50: tuple[float, ...]
    p99: tuple[float, ...]

    def cells(self) -> list[str]:
        return [f"{a:.2f} / {b:.2f}" for a, b in zip(self.p50, self.p99, strict=True)]


def split(stack: BenchStack, ids: Sequence[str], since: float) -> Split:
    """The hops of ``ids`` (published after ``since``, epoch seconds)."""
    return summarise(_row_times(stack, ids), enriched_times(stack, ids, since))


Row = tuple[str, float, float, float]  # submission id, submitted, produced, created (epoch s)


def summarise(rows: Sequence[Row], enriched: dict[str, float]) -> Split:
    """Each hop's p50 and p99 over the rows; a row whose enriched record was not read counts
    for the sink hop only."""
    hops: list[list[float]] = [[], [], []]
    for sid, submitted, produced, created in rows:
        if sid in enriched:
            hops[0].append(enriched[sid] - submitted)
            hops[1].append(produced - enriched[sid])
        hops[2].append(created - produced)
    ordered = [sorted(values) for values in hops]
    return Split(
        tuple(percentile(v, 0.50) for v in ordered), tuple(percentile(v, 0.99) for v in ordered)
    )


def _row_times(stack: BenchStack, ids: Sequence[str]) -> list[Row]:
    with psycopg.connect(stack.conninfo()) as conn:
        rows = conn.execute(
            "SELECT submission_id::text, extract(epoch FROM submitted_at), "
            f"extract(epoch FROM produced_at), extract(epoch FROM created_at) FROM {TABLE} "
            "WHERE submission_id = ANY(%s) AND submitted_at IS NOT NULL",
            (list(ids),),
        ).fetchall()
    return [(str(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in rows]


def enriched_times(stack: BenchStack, ids: Sequence[str], since: float) -> dict[str, float]:
    """Epoch seconds of each id's enriched record (its key is the submission id for
    bug_report), read from the offsets at ``since`` to the end of each partition."""
    topic = f"enriched.{TASK}"
    config = {
        **stack.kafka.consumer_config(f"bench-latency-{uuid.uuid4()}"),
        "enable.partition.eof": True,
    }
    consumer = Consumer(config)
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        wanted = [TopicPartition(topic, p, int(since * 1000)) for p in partitions]
        starts = [tp for tp in consumer.offsets_for_times(wanted, timeout=30) if tp.offset >= 0]
        consumer.assign(starts)  # no group membership: nothing joins, nothing is committed
        return _read(consumer, {tp.partition for tp in starts}, set(ids))
    finally:
        consumer.close()


def _read(consumer: Consumer, partitions: set[int], ids: set[str]) -> dict[str, float]:
    times: dict[str, float] = {}
    deadline = time.monotonic() + READ_TIMEOUT_S
    while partitions and len(times) < len(ids) and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                partitions.discard(msg.partition() or 0)
            continue
        key = (msg.key() or b"").decode()
        if key in ids:
            times[key] = msg.timestamp()[1] / 1000
    return times
