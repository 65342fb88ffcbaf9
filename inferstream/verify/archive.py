"""Archive coverage for `inferstream verify`: the results lake holds every result exactly once.

The archive commits a partition's offset only after the Parquet file ending there is written,
so below the archive group's committed offset every result message must be in exactly one
file, as the same result; after it, the results are buffered in an open file (not an error:
at idle a file stays open until it fills or the record time passes its window). A file is
named by its partition and its first row's offset. Replaces the old check of one S3 object
per result (the sink writes none since the archive stage exists).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition

from inferstream.settings import KafkaSettings, ObjectStoreSettings
from inferstream.storage import ObjectStore
from inferstream.topology import group_id, topic_name
from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import PREFIX, parse_key

MISSING = "result missing from the archive (below its committed offset)"
TWICE = "result archived more than once"
DIFFERENT = "archived row differs from its result message"
MISNAMED = "archive file not named by its partition and first offset"
ARCHIVE_CHECKS = (MISSING, TWICE, DIFFERENT, MISNAMED)


@dataclass(frozen=True)
class ArchivedRow:
    key: str
    partition: int
    offset: int
    result_id: str | None


@dataclass(frozen=True)
class ArchiveFacts:
    topic: str  # results.<task>
    # partition -> {offset: result_id} of every decodable result message
    results: Mapping[int, Mapping[int, str]]
    committed: Mapping[int, int]  # partition -> the archive group's committed offset
    rows: list[ArchivedRow] = field(default_factory=list)
    misnamed: list[str] = field(default_factory=list)
    files: int = 0


def check_archive(facts: ArchiveFacts) -> tuple[dict[str, int], dict[str, list[str]]]:
    """(counts, violations by check name)."""
    v: dict[str, list[str]] = {name: [] for name in ARCHIVE_CHECKS}
    v[MISNAMED] = sorted(facts.misnamed)
    seen = Counter((row.partition, row.offset) for row in facts.rows)
    v[TWICE] = [
        f"partition {p} offset {o} ({n} times)" for (p, o), n in sorted(seen.items()) if n > 1
    ]
    archived = buffered = 0
    for partition, offsets in sorted(facts.results.items()):
        committed = facts.committed.get(partition, 0)
        for offset in sorted(offsets):
            if offset >= committed:
                buffered += 1
            elif (partition, offset) in seen:
                archived += 1
            else:
                v[MISSING].append(f"{facts.topic}:{partition}:{offset}")
    for row in facts.rows:
        expected = facts.results.get(row.partition, {}).get(row.offset)
        if expected is not None and row.result_id != expected:
            v[DIFFERENT].append(f"{row.key} offset {row.offset}: {row.result_id} != {expected}")
    counts = {
        "archive files": facts.files,
        "results archived": archived,
        "results buffered by the archive (not yet committed)": buffered,
    }
    return counts, v


def collect_archive(
    task: str,
    kafka: KafkaSettings,
    group_prefix: str,
    results: Mapping[int, Mapping[int, str]],
) -> ArchiveFacts:
    """The archive group's committed offsets and every archived row, read back from S3."""
    store = ObjectStore(ObjectStoreSettings.load())
    topic = topic_name("results", task)
    # Offsets before objects: a file written in between is then only more than needed.
    committed = committed_offsets(kafka, group_id("archive", task, group_prefix), topic)
    rows: list[ArchivedRow] = []
    misnamed: list[str] = []
    keys = store.list_keys(f"{PREFIX}/{task}/")
    for key in keys:
        parts = parse_key(key)
        if parts is None or parts.topic != topic:
            misnamed.append(key)
            continue
        table = parquet.decode(store.get_bytes(key))
        file_rows = [
            ArchivedRow(key, int(p), int(o), r)
            for p, o, r in zip(
                table.column("partition").to_pylist(),
                table.column("offset").to_pylist(),
                table.column("result_id").to_pylist(),
                strict=True,
            )
        ]
        first = file_rows[0] if file_rows else None
        if first is None or (first.partition, first.offset) != (
            parts.partition,
            parts.start_offset,
        ):
            misnamed.append(key)
        rows.extend(file_rows)
    return ArchiveFacts(
        topic=topic,
        results=results,
        committed=committed,
        rows=rows,
        misnamed=misnamed,
        files=len(keys),
    )


def committed_offsets(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (an OffsetFetch: reading them does not join the group)."""
    consumer = Consumer(kafka.consumer_config(group))
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
        return {
            tp.partition: tp.offset
            for tp in consumer.committed(partitions, timeout=15)
            if tp.offset >= 0
        }
    finally:
        consumer.close()


def by_partition(
    results: Iterable[tuple[str, str, tuple[str, int], int]],
) -> dict[int, dict[int, str]]:
    """partition -> {offset: result_id}, from collect's (submission, result, position, offset)."""
    out: dict[int, dict[int, str]] = {}
    for _, result_id, (_, partition), offset in results:
        out.setdefault(partition, {})[offset] = result_id
    return out
