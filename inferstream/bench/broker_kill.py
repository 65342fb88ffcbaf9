"""Kill -9 of the durable broker mid-stream, with several producers writing: is every
acknowledged record still there?

Several threads each run the product's idempotent acks=all producer
(``KafkaSettings.producer_config``, as the publisher and the workers' output use it) and flush
every ``batch`` records, as they do. Meanwhile Tansu (s3://) is killed with SIGKILL every
``interval_s`` (the producers are mid-flush, not idle), stays down ``down_s`` and is started
again on the same port and storage. The producers never stop across the kills. At the end
every partition is read from the beginning to the end that Tansu stored (its watermark.json in
the bucket: the listed high watermark can be up to 5 s old) and compared with the set of keys
whose delivery report said success: lost = acknowledged but not readable, duplicated = read
more than once.

``repair=False`` starts Tansu without the sequence repair (stack/tansu_repair.py), to measure
the defect it fixes in the same run; before each restart the repair is run in dry-run mode
either way, so both runs say how many producer sequences the kill left ahead of the stored
batches.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from minio import Minio

from inferstream.bench.harness import BenchError
from inferstream.settings import KafkaSettings
from inferstream.stack.processes import port_is_free, reap, wait_until
from inferstream.stack.servers import (
    TANSU_BUCKET,
    SeaweedInfo,
    TansuInfo,
    start_tansu,
    stop_tansu,
)
from inferstream.stack.tansu_repair import CLUSTER, repair


@dataclass(frozen=True)
class KillConfig:
    producers: int = 4
    partitions: int = 4
    kills: int = 5
    interval_s: float = 3.0  # producing time before each kill, and after the last restart
    down_s: float = 1.0
    batch: int = 50  # records per flush
    size: int = 200


@dataclass
class KillOutcome:
    repair: bool
    acked: int = 0
    read: int = 0
    lost: int = 0
    duplicated: int = 0
    ahead: int = 0  # producer sequences found ahead of the stored batches at the restarts
    restart_s: list[float] = field(default_factory=list)
    acked_at_kills: list[int] = field(default_factory=list)  # running total as each kill hits
    lost_sample: list[str] = field(default_factory=list)
    unread: dict[int, int] = field(default_factory=dict)  # partition -> records not reached


class _Producing(threading.Thread):
    """One producer writing keys ``<name>-<n>`` in flushed batches until told to stop."""

    def __init__(self, name: str, bootstrap: str, topic: str, config: KillConfig) -> None:
        super().__init__(name=name, daemon=True)
        settings = KafkaSettings(bootstrap_servers=bootstrap)
        self._producer = Producer({**settings.producer_config(), "log_level": 0})
        self._topic, self._config = topic, config
        self.stop = threading.Event()
        self.acked: set[str] = set()
        self.failed = 0

    def _delivered(self, err: object, msg: object) -> None:
        # Called from flush() in this thread; the key is what we sent.
        key = msg.key()  # type: ignore[attr-defined]
        if err is None:
            self.acked.add(key.decode())
        else:
            self.failed += 1

    def run(self) -> None:
        value, n = os.urandom(self._config.size), 0
        while not self.stop.is_set():
            for _ in range(self._config.batch):
                self._send(f"{self.name}-{n}".encode(), value)
                n += 1
            self._producer.flush(150)  # within delivery.timeout.ms: every record is reported
        self._producer.flush(150)

    def _send(self, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(self._topic, value, key, on_delivery=self._delivered)
                return
            except BufferError:
                self._producer.poll(0.05)


def _kill(info: TansuInfo) -> None:
    os.kill(info.pid, signal.SIGKILL)
    if not wait_until(lambda: _gone(info.pid) and port_is_free(info.port), 10.0, 0.05):
        raise BenchError(f"Tansu (pid {info.pid}) or its port {info.port} outlived a SIGKILL")


def _gone(pid: int) -> bool:
    reap(pid)  # our child: collect it, or it stays a zombie that signal 0 still finds
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def s3_client(s3: SeaweedInfo) -> Minio:
    return Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)


def stored_high(client: Minio, topic: str, partition: int) -> int:
    """The partition's end as Tansu stored it (watermark.json), not its cached listing."""
    key = f"clusters/{CLUSTER}/topics/{topic}/partitions/{partition:0>10}/watermark.json"
    response = client.get_object(TANSU_BUCKET, key)
    try:
        return int(json.loads(response.read()).get("high") or 0)
    finally:
        response.close()
        response.release_conn()


def read_keys(
    bootstrap: str, topic: str, highs: dict[int, int], deadline_s: float
) -> tuple[Counter[str], dict[int, int]]:
    """Every key of the topic up to ``highs`` (partition -> end), and what was not reached."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench.broker-kill.{os.getpid()}.{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in highs])
    seen: Counter[str] = Counter()
    positions = dict.fromkeys(highs, 0)
    deadline = time.monotonic() + deadline_s
    try:
        while any(positions[p] < highs[p] for p in highs) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is None and msg.key() is not None:
                    seen[msg.key().decode()] += 1  # type: ignore[union-attr]
                    positions[msg.partition()] = msg.offset() + 1  # type: ignore[index,operator]
    finally:
        consumer.close()
    return seen, {p: highs[p] - positions[p] for p in highs if positions[p] < highs[p]}


def run_kills(
    data_dir: Path, s3: SeaweedInfo, topic: str, config: KillConfig, *, repair_on: bool
) -> KillOutcome:
    """The workload above on a new ``topic``: Tansu is started here (on ``s3``, whose bucket
    must exist) and stopped before returning."""
    out = KillOutcome(repair=repair_on)
    client = s3_client(s3)
    info = start_tansu(data_dir, s3=s3, repair=repair_on)
    producers: list[_Producing] = []
    try:
        admin = AdminClient({"bootstrap.servers": info.bootstrap, "log_level": 0})
        admin.create_topics([NewTopic(topic, config.partitions, 1)])[topic].result(30)
        producers = [
            _Producing(f"p{i}", info.bootstrap, topic, config) for i in range(config.producers)
        ]
        for producer in producers:
            producer.start()
        for _ in range(config.kills):
            time.sleep(config.interval_s)  # the producers' running time, not a synchronisation
            out.acked_at_kills.append(sum(len(p.acked) for p in producers))
            _kill(info)
            time.sleep(config.down_s)  # the outage's length, as in the chaos schedule
            out.ahead += len(repair(client, TANSU_BUCKET, dry_run=True).repairs)
            started = time.perf_counter()
            port, info = info.port, start_tansu(data_dir, info.port, s3=s3, repair=repair_on)
            if info.port != port:
                raise BenchError(f"Tansu came back on port {info.port}, not {port}")
            out.restart_s.append(time.perf_counter() - started)
        time.sleep(config.interval_s)
    finally:
        for producer in producers:
            producer.stop.set()
        for producer in producers:
            producer.join(200)
        _finish(out, info, client, topic, config, producers)
    return out


def _finish(
    out: KillOutcome,
    info: TansuInfo,
    client: Minio,
    topic: str,
    config: KillConfig,
    producers: list[_Producing],
) -> None:
    try:
        acked = set().union(*(p.acked for p in producers)) if producers else set()
        highs = {p: stored_high(client, topic, p) for p in range(config.partitions)}
        seen, out.unread = read_keys(info.bootstrap, topic, highs, 120.0)
    finally:
        stop_tansu(info.pid)
    lost = sorted(acked - set(seen))
    out.acked, out.read, out.lost = len(acked), sum(seen.values()), len(lost)
    out.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    out.lost_sample = lost[:5]
