"""The Tansu state repair (stack/tansu_repair.py) on an in-memory bucket laid out as Tansu's s3
engine writes it: producer sequences in meta.json, watermark.json per partition, one object per
record batch named by its base offset, committed group offsets. The repair runs its own code
against it (listing, ranged header reads, writes); only the S3 client is a fake.

The kills are those of a real broker: a produce is three writes (sequence, watermark, batch),
and a kill -9 can land between any two of them."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from minio import Minio
from minio.error import S3Error

from inferstream.stack.tansu_repair import CLUSTER, STATE_KEY, holes_in, repair

BUCKET = "tansu"
TOPIC = "t"
PARTITION = f"clusters/{CLUSTER}/topics/{TOPIC}/partitions/{0:0>10}/"
PLAIN = -1  # the producer id of a produce without idempotence (no sequence)


@dataclass(frozen=True)
class _Listed:
    object_name: str


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class FakeS3:
    """The few Minio calls the repair makes, on a dict; counts the ranged header reads."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.ranged_reads = 0

    def get_object(self, bucket: str, key: str, offset: int = 0, length: int = 0) -> _Body:
        assert bucket == BUCKET
        if key not in self.objects:
            raise S3Error(None, "NoSuchKey", "no such key", key, "", "")  # type: ignore[arg-type]
        data = self.objects[key]
        if length:
            self.ranged_reads += 1
            return _Body(data[offset : offset + length])
        return _Body(data[offset:])

    def list_objects(
        self, bucket: str, prefix: str, recursive: bool = False, start_after: str | None = None
    ) -> list[_Listed]:
        names = sorted(k for k in self.objects if k.startswith(prefix))
        if not recursive:
            names = [k for k in names if "/" not in k[len(prefix) :]]
        return [_Listed(k) for k in names if start_after is None or k > start_after]

    def put_object(
        self, bucket: str, key: str, data: BinaryIO, length: int, content_type: str = ""
    ) -> None:
        self.objects[key] = data.read()

    def json(self, key: str) -> Any:
        return json.loads(self.objects[key])


class Broker:
    """A partition of one topic as Tansu stores it, and the three writes of a produce."""

    def __init__(self) -> None:
        self.s3 = FakeS3()
        self.meta: dict[str, Any] = {
            "producers": {},
            "topics": {TOPIC: {"id": "topic-1", "topic": {"name": TOPIC, "num_partitions": 1}}},
            "transactions": {},
        }
        self.high = 0
        self._save()

    def produce(self, pid: int, records: int, *, stop_after: int = 3) -> int:
        """Produce a batch; ``stop_after`` < 3: killed after that many of its writes."""
        sequence = self.sequence(pid)
        offset, writes = self.high, 0
        if pid != PLAIN:  # 1: the producer's sequence (an idempotent produce only)
            self.meta["producers"].setdefault(str(pid), {"sequences": {"0": {TOPIC: {"0": 0}}}})
            self.meta["producers"][str(pid)]["sequences"]["0"][TOPIC]["0"] = sequence + records
            writes += 1
        if writes < stop_after:  # 2: the watermark
            self.high += records
            writes += 1
        if writes < stop_after:  # 3: the batch
            self.s3.objects[f"{PARTITION}records/{offset:0>20}.batch"] = _batch(
                pid, sequence, records
            )
        self._save()
        return offset

    def sequence(self, pid: int) -> int:
        detail = self.meta["producers"].get(str(pid))
        return int(detail["sequences"]["0"][TOPIC]["0"]) if detail else 0

    def commit(self, group: str, offset: int) -> None:
        key = (
            f"clusters/{CLUSTER}/groups/consumers/{group}/offsets/{TOPIC}/partitions/{0:0>10}.json"
        )
        self.s3.objects[key] = json.dumps({"offset": offset, "leader_epoch": None}).encode()

    def restart(self, *, dry_run: bool = False) -> Any:
        """What a start does first: the repair; then the broker reads the state back."""
        report = repair(cast(Minio, self.s3), BUCKET, dry_run=dry_run)
        self.meta = self.s3.json(f"clusters/{CLUSTER}/meta.json")
        self.high = int(self.s3.json(f"{PARTITION}watermark.json")["high"])
        return report

    def _save(self) -> None:
        s3 = self.s3
        s3.objects[f"clusters/{CLUSTER}/meta.json"] = json.dumps(self.meta).encode()
        watermark = {"low": 0, "high": self.high, "timestamps": None}
        s3.objects[f"{PARTITION}watermark.json"] = json.dumps(watermark).encode()


def _batch(pid: int, base_sequence: int, records: int) -> bytes:
    # Kafka record batch v2 up to the record count (base offset 0: Tansu names the object by
    # offset), then some record bytes.
    header = struct.pack(
        ">qiibIhiqqqhii", 0, 99, -1, 2, 7, 0, records - 1, 1, 2, pid, 0, base_sequence, records
    )
    return header + b"records"


def test_a_hole_at_the_end_is_closed_and_the_retry_takes_its_offsets() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 7)
    broker.produce(1, 5, stop_after=2)  # killed between the watermark and the batch
    assert broker.high == 19
    report = broker.restart()
    assert report.repairs == [(1, TOPIC, 0, 19, 14)]
    assert report.lowered == [(TOPIC, 0, 19, 14)]
    assert report.holes == []
    assert broker.high == 14
    # The producer retries its batch after the restart: stored where the hole was.
    assert broker.produce(1, 5) == 14
    assert broker.high == 19
    # The next start finds a consistent state and reads only the batch stored since.
    before = broker.s3.ranged_reads
    report = broker.restart()
    assert (report.repairs, report.lowered, report.holes) == ([], [], [])
    assert broker.s3.ranged_reads - before == 1


def test_a_kill_after_the_sequence_only_changes_no_watermark() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 4, stop_after=1)
    report = broker.restart()
    assert report.repairs == [(1, TOPIC, 0, 11, 7)]
    assert (report.lowered, report.holes, broker.high) == ([], [], 7)


def test_a_hole_with_a_batch_stored_after_it_is_reported_and_left() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 5, stop_after=2)  # offsets 7..11 numbered, never stored ...
    broker.produce(2, 3)  # ... and another producer's batch stored after them (12..14)
    report = broker.restart()
    assert sorted(report.repairs) == [(1, TOPIC, 0, 12, 7)]
    assert report.lowered == []
    assert report.holes == [(TOPIC, 0, 7, 12)]
    assert broker.high == 15  # acknowledged offsets stay where they are


def test_a_hole_after_the_previous_start_is_seen_below_the_next_batch() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.restart()
    # The first produce after that start is cut short; another producer stores after it.
    broker.produce(1, 5, stop_after=2)
    broker.produce(2, 3)
    report = broker.restart()
    assert report.holes == [(TOPIC, 0, 7, 12)]
    assert broker.high == 15


def test_never_below_an_offset_a_group_committed() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 5, stop_after=2)
    broker.commit("g", 9)  # past the stored end: the broker must keep answering it
    report = broker.restart()
    assert report.lowered == [(TOPIC, 0, 12, 9)]
    assert report.holes == [(TOPIC, 0, 7, 9)]
    assert broker.high == 9


def test_a_commit_past_the_watermark_never_raises_it() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 5, stop_after=2)
    broker.commit("g", 20)
    report = broker.restart()
    assert (report.lowered, report.holes) == ([], [(TOPIC, 0, 7, 12)])
    assert broker.high == 12
    # What the next start reads from is the watermark as it is, not the commit.
    assert broker.s3.json(STATE_KEY)["partitions"][f"{TOPIC}/0"]["high"] == 12


def test_a_dry_run_reports_and_writes_nothing() -> None:
    broker = Broker()
    broker.produce(1, 7)
    broker.produce(1, 5, stop_after=2)
    stored = dict(broker.s3.objects)
    report = broker.restart(dry_run=True)
    assert report.lowered == [(TOPIC, 0, 12, 7)]
    assert broker.s3.objects == stored


def test_a_plain_produce_since_a_start_is_not_taken_for_a_hole() -> None:
    # A produce without a sequence moves the watermark without the repair noticing it then;
    # batches it stored must never end up above a lowered watermark.
    broker = Broker()
    broker.produce(1, 7)
    broker.restart()
    broker.produce(PLAIN, 6)  # 7..12
    broker.restart()
    broker.produce(1, 5, stop_after=2)  # 13..17 numbered, never stored
    report = broker.restart()
    assert report.lowered == [(TOPIC, 0, 18, 13)]
    assert broker.high == 13
    assert broker.s3.json(STATE_KEY)["partitions"][f"{TOPIC}/0"]["end"] == 13


def test_holes_in_spans() -> None:
    assert holes_in([], 0) == []
    assert holes_in([(0, 7)], 7) == []
    assert holes_in([(0, 7)], 12) == [(7, 12)]
    assert holes_in([(0, 7), (12, 15)], 15) == [(7, 12)]
    assert holes_in([(3, 3), (3, 5), (9, 10)], 14) == [(5, 9), (10, 14)]
