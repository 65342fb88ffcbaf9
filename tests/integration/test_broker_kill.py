"""Acknowledged records survive a kill -9 of the durable broker in the middle of a stream of
produces (several idempotent acks=all producers, flushing per batch), and the repair that makes
it so (stack/tansu_repair.py) lowers exactly the producer sequences a kill leaves ahead of the
stored batches.

A SeaweedFS and a Tansu of their own (not the session stack's): Tansu is killed here.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from io import BytesIO
from itertools import pairwise
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from minio import Minio

from inferstream.bench.broker_kill import KillConfig, run_kills, s3_client, stored_high
from inferstream.settings import KafkaSettings
from inferstream.stack.servers import (
    TANSU_BUCKET,
    SeaweedInfo,
    ensure_bucket,
    start_seaweed,
    start_tansu,
    stop_seaweed,
    stop_tansu,
)
from inferstream.stack.tansu_repair import CLUSTER, repair

pytestmark = pytest.mark.integration
META = f"clusters/{CLUSTER}/meta.json"


@pytest.fixture
def seaweed(tmp_path: Path) -> Iterator[SeaweedInfo]:
    info = start_seaweed(
        tmp_path,
        access_key="test" + secrets.token_hex(6),
        secret_key=secrets.token_hex(16),
        bucket="inferstream",
    )
    try:
        ensure_bucket(info, TANSU_BUCKET)
        yield info
    finally:
        stop_seaweed(info.pid)


def test_no_acknowledged_record_is_lost_across_kills_mid_stream(
    tmp_path: Path, seaweed: SeaweedInfo
) -> None:
    # Two kills: records acknowledged before, between and after them (a third added 4-5 s).
    config = KillConfig(producers=4, partitions=4, kills=2, interval_s=2.0, down_s=0.5)
    out = run_kills(tmp_path, seaweed, "test.broker-kill", config, repair_on=True)
    assert len(out.restart_s) == config.kills
    # The producers were writing across the kills, not idle: records were acknowledged before
    # the first kill, between every two, and after the last restart.
    totals = [*out.acked_at_kills, out.acked]
    assert totals[0] > 0 and all(a < b for a, b in pairwise(totals)), totals
    assert out.unread == {}, f"partitions not read to their stored end: {out.unread}"
    assert out.lost == 0, f"{out.lost} acknowledged records lost, e.g. {out.lost_sample}"
    assert out.read == out.acked + out.duplicated


def _meta(client: Minio) -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    response = client.get_object(TANSU_BUCKET, META)
    try:
        data: dict[str, dict[str, dict[str, dict[str, object]]]] = json.loads(response.read())
    finally:
        response.close()
        response.release_conn()
    return data


def _sequence(meta: dict[str, dict[str, dict[str, dict[str, object]]]], topic: str) -> int:
    (detail,) = meta["producers"].values()
    (epoch,) = detail["sequences"].values()
    return int(epoch[topic]["0"])  # type: ignore[index]


def test_repair_lowers_a_sequence_counting_a_batch_never_stored(
    tmp_path: Path, seaweed: SeaweedInfo
) -> None:
    topic = "test.repair"
    info = start_tansu(tmp_path, s3=seaweed)
    try:
        admin = AdminClient({"bootstrap.servers": info.bootstrap, "log_level": 0})
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        config = KafkaSettings(bootstrap_servers=info.bootstrap).producer_config()
        producer = Producer({**config, "log_level": 0})
        for flush in range(3):  # three batches of 7, 7 and 7 records: sequences 0..20
            for i in range(7):
                producer.produce(topic, b"v", f"{flush}-{i}".encode())
            assert producer.flush(30) == 0
    finally:
        stop_tansu(info.pid)
    client = s3_client(seaweed)
    meta = _meta(client)
    assert _sequence(meta, topic) == 21 == stored_high(client, topic, 0)
    (pid,) = meta["producers"]
    (epoch,) = meta["producers"][pid]["sequences"]

    def kill_mid_produce() -> None:
        # What a kill -9 between Tansu's meta.json write and its batch write leaves: the
        # sequence counts a fourth batch of 5 records that no object holds.
        meta["producers"][pid]["sequences"][epoch][topic]["0"] = 26  # type: ignore[index]
        body = json.dumps(meta).encode()
        client.put_object(TANSU_BUCKET, META, BytesIO(body), len(body))

    kill_mid_produce()
    report = repair(client, TANSU_BUCKET)
    assert report.repairs == [(int(pid), topic, 0, 26, 21)]
    assert report.batches_read == 1  # the newest batch was the producer's: no further scan
    assert _sequence(_meta(client), topic) == 21
    # A consistent state is left alone, and what was verified is not read again.
    report = repair(client, TANSU_BUCKET)
    assert (report.repairs, report.batches_read) == ([], 0)
    # The same fault after that start: found from the verified record, no batch read.
    kill_mid_produce()
    report = repair(client, TANSU_BUCKET)
    assert (report.repairs, report.batches_read) == ([(int(pid), topic, 0, 26, 21)], 0)
    assert _sequence(_meta(client), topic) == 21

    # A kill one write later, after the watermark: offsets 21..25 numbered, no batch holds
    # them. The repair takes the watermark back, and the next batch stored gets offset 21: a
    # consumer reads 0..N without a hole to wait at.
    kill_mid_produce()
    watermark = f"clusters/{CLUSTER}/topics/{topic}/partitions/{0:0>10}/watermark.json"
    body = json.dumps({"low": 0, "high": 26, "timestamps": None}).encode()
    client.put_object(TANSU_BUCKET, watermark, BytesIO(body), len(body))
    info = start_tansu(tmp_path, s3=seaweed)  # runs the repair first
    try:
        assert stored_high(client, topic, 0) == 21
        config = KafkaSettings(bootstrap_servers=info.bootstrap).producer_config()
        producer = Producer({**config, "log_level": 0})
        for i in range(5):
            producer.produce(topic, b"v", f"after-{i}".encode())
        assert producer.flush(30) == 0
        assert _offsets(info.bootstrap, topic, 26) == list(range(26))
    finally:
        stop_tansu(info.pid)
    assert stored_high(client, topic, 0) == 26


def _offsets(bootstrap: str, topic: str, end: int) -> list[int]:
    """The offsets a consumer reads from partition 0 up to ``end`` (30 s at most)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test.repair", "log_level": 0})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    offsets: list[int] = []
    deadline = time.monotonic() + 30
    try:
        while (not offsets or offsets[-1] < end - 1) and time.monotonic() < deadline:
            for msg in consumer.consume(100, 0.5):
                if msg.error() is None:
                    offsets.append(int(msg.offset() or 0))
    finally:
        consumer.close()
    return offsets
