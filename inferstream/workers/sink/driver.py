"""The sink stage: results (and dead letters) into Postgres exactly once.

Postgres only: no object-store write on this path. The results lake in S3 is written by the
archive stage (its own consumer group on results.<task>, one Parquet file per many results);
one S3 PUT per result here was 75 % of the sink's CPU (docs/benchmarks.md).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import psycopg
from prometheus_client import Histogram

from inferstream.errors import PoisonBatchError, TransientError
from inferstream.plugins import ResultFields, TaskPlugin, decode_result_fields
from inferstream.schemas import DecodeError
from inferstream.topology import DEADLETTER_TOPIC, TASK_TOPIC_KINDS, topic_name
from inferstream.workers.runtime import metrics
from inferstream.workers.runtime.headers import SUBMISSION_ID, SUBMITTED_AT
from inferstream.workers.runtime.logic import StageLogic
from inferstream.workers.runtime.records import Emit, InRecord, Outcome
from inferstream.workers.runtime.watermark import Position
from inferstream.workers.sink.writer import DeadLetterRow, PostgresSinkWriter, SinkBatch, parse_time

OFFSET_BEGINNING = -2
# Every record's outcome: handled, nothing to produce (the rows are the output). Emit is frozen
# and holds no per-record state, so one instance serves them all (building one per record was
# ~0.25 us of the sink's run thread).
HANDLED = Emit()


class SinkLogic(StageLogic):
    stage = "sink"

    def __init__(self, plugin: TaskPlugin, writer: PostgresSinkWriter) -> None:
        self.plugin = plugin
        self.task = plugin.name
        self.writer = writer
        self.table = plugin.table
        self.results_topic = topic_name("results", self.task)
        self.own_topics = {topic_name(kind, self.task) for kind in TASK_TOPIC_KINDS}
        self._e2e = metrics.E2E_LATENCY.labels(stage="sink", task=self.task)

    @property
    def input_topics(self) -> Sequence[str]:
        return [self.results_topic, DEADLETTER_TOPIC]

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        sink = SinkBatch(rows=[], done=[], dead=[], offsets={})
        submitted: list[datetime | None] = []
        for record in batch:
            previous = sink.offsets.get(record.position, -1)
            sink.offsets[record.position] = max(previous, record.offset + 1)
            if record.topic == DEADLETTER_TOPIC:
                dead = self._dead_letter(record)
                if dead is not None:
                    sink.dead.append(dead)
                continue
            at = parse_time(record.header(SUBMITTED_AT))
            try:
                result = self._decode(record.value)
                row = self.table.row(result, at)
            except DecodeError as err:
                sink.dead.append(self._undecodable(record, str(err)))
                continue
            except (TypeError, ValueError) as err:  # e.g. a time that is not ISO 8601
                sink.dead.append(self._undecodable(record, f"unusable field value: {err}"))
                continue
            submitted.append(at)
            sink.rows.append(row)
            tenant = "default"
            sink.done.append((result["submission_id"], self.task, tenant, result["result_id"]))
        try:
            self.writer.write(sink)
        except psycopg.OperationalError as err:
            raise TransientError(f"Postgres unavailable: {err}") from err
        except (psycopg.IntegrityError, psycopg.DataError) as err:
            raise PoisonBatchError(f"Postgres refused the batch: {err}") from err
        now = datetime.now(UTC)
        observe_delays(
            self._e2e, [(now - at).total_seconds() for at in submitted if at is not None]
        )
        return [HANDLED] * len(batch)

    def _decode(self, value: bytes) -> ResultFields:
        """A result infer wrote from its own model output, as plain fields: trusted, so only
        its structure is checked (an object with this task's result fields), not every value,
        and no pydantic object is built (docs/benchmarks.md, "Batch-native plug-ins"). A
        message that fails the check is a dead letter, not a crash."""
        return decode_result_fields(self.task, value)

    def _dead_letter(self, record: InRecord) -> DeadLetterRow | None:
        original = record.header("x-original-topic") or ""
        if original not in self.own_topics:
            return None  # another task's dead letter: its own sink records it
        return DeadLetterRow(
            submission_id=_submission_of(record),
            stage=record.header("x-error-stage") or "unknown",
            kind=record.header("x-error-kind") or "rejected",
            reason=record.header("x-error-reason") or "",
            original_topic=original,
            original_partition=int(record.header("x-original-partition") or -1),
            original_offset=int(record.header("x-original-offset") or -1),
            payload=record.value,
            headers={k: v.decode(errors="replace") for k, v in record.headers},
        )

    def _undecodable(self, record: InRecord, reason: str) -> DeadLetterRow:
        return DeadLetterRow(
            submission_id=_submission_of(record),
            stage="sink",
            kind="rejected",
            reason=f"undecodable result: {reason}"[:2000],
            original_topic=record.topic,
            original_partition=record.partition,
            original_offset=record.offset,
            payload=record.value,
            headers={k: v.decode(errors="replace") for k, v in record.headers},
        )

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int]:
        """Where each assigned partition starts: the offsets stored with the rows. With
        Postgres down there is no right answer to guess, so this raises TransientError and
        the runner keeps the partitions unfetched, retrying from its poll loop until Postgres
        answers (workers/runtime/deferred.py): any outage length, nothing skipped or redone."""
        try:
            stored = self.writer.stored_offsets(positions)
        except psycopg.OperationalError as err:
            raise TransientError(f"Postgres unavailable for the stored offsets: {err}") from err
        return {pos: stored.get(pos, OFFSET_BEGINNING) for pos in positions}

    def ready(self) -> tuple[bool, str]:
        try:
            self.writer.stored_offsets([])
        except psycopg.OperationalError as err:
            return False, f"Postgres unreachable: {err}"
        return True, "ok"

    def close(self) -> None:
        self.writer.close()


def observe_delays(histogram: Histogram, delays: Sequence[float]) -> None:
    """``histogram.observe(max(0, delay))`` for each delay, grouped by bucket: one
    `metrics.observe_many` pair per bucket the batch reaches (its count, and its delays' mean
    held inside the bucket), instead of an observe per result (~1.1 -> 0.4 us per result at
    128). The buckets' counts are those of the observes; the sum may differ in its last bits."""
    bounds = metrics.LATENCY_BUCKETS
    groups: dict[int, list[float]] = {}  # bucket -> [sum, count, least]
    for delay in delays:
        amount = max(0.0, delay)
        bucket = bisect_left(bounds, amount)  # the first bound >= amount: observe's bucket
        group = groups.get(bucket)
        if group is None:
            groups[bucket] = [amount, 1.0, amount]
        else:
            group[0] += amount
            group[1] += 1.0
            group[2] = min(group[2], amount)
    pairs = []
    for bucket, (total, count, least) in groups.items():
        mean = max(least, total / count)  # rounding must not leave the bucket either way
        if bucket < len(bounds):
            mean = min(mean, bounds[bucket])
        pairs.append((mean, int(count)))
    metrics.observe_many(histogram, pairs)


def _submission_of(record: InRecord) -> str | None:
    """The submission a dead letter belongs to: its header, else the record key (records
    written before the header existed, and keys that are the submission id)."""
    header = record.header(SUBMISSION_ID)
    if header:
        return header
    return record.key.decode(errors="replace") if record.key else None
