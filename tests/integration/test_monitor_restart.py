"""The monitor's state survives a kill -9 exactly: its counts and its consumed offsets are
written in one Postgres transaction, so the restarted worker resumes where the stored counts
end, neither losing nor counting twice a result (what faust's changelog-backed tables were to
give, and did not on the embedded broker: docs/monitoring.md)."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import psycopg
from _stack import Stack
from confluent_kafka import Producer
from test_monitor import _poll, _publish, skip_what_is_there

N = 2000


def _start(stack: Stack, prefix: str, log: Path, batch_max_items: int) -> subprocess.Popen[bytes]:
    env = {
        **stack.env,
        "INFERSTREAM_WORKER_GROUP_PREFIX": prefix,
        "INFERSTREAM_WORKER_BATCH_MAX_ITEMS": str(batch_max_items),
        "INFERSTREAM_MONITOR_EVALUATE_EVERY_S": "30",
    }
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "inferstream", "worker", "monitor", "--task", "churn",
             "--metrics-port", "0"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _counted(stack: Stack, name: str, version: str) -> int:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM monitor_counts WHERE task = 'churn'"
            " AND model_name = %s AND model_version = %s AND kind = 'latency'",
            (name, version),
        ).fetchone()
    return int(row[0]) if row else 0


def _sentinels(stack: Stack, name: str) -> None:
    """One result per partition, after the others: once both are counted, so is every
    result before them."""
    producer = Producer(stack.kafka.producer_config())
    now = datetime.now(UTC).isoformat()
    for partition in (0, 1):
        body = {"model_name": name, "model_version": "sentinel", "produced_at": now,
                "probability": 0.5}  # fmt: skip
        producer.produce(
            "results.churn",
            value=orjson.dumps(body),
            partition=partition,
            headers=[("x-submitted-at", now.encode())],
        )
    assert producer.flush(30) == 0


def test_kill_9_mid_stream_neither_loses_nor_double_counts(stack: Stack, tmp_path: Path) -> None:
    name = f"churn-restart-{uuid.uuid4().hex[:8]}"
    prefix = f"monitor-restart-{uuid.uuid4().hex[:8]}"
    # Other tests' records on the monitor's four topics are skipped, not counted first.
    skip_what_is_there(stack, prefix)
    _publish(stack.kafka, name, "v1", np.linspace(0, 1, N))
    _sentinels(stack, name)
    log = tmp_path / "monitor.log"
    # Small batches: many transactions, so the kill lands between two of them.
    first = _start(stack, prefix, log, batch_max_items=4)
    try:
        at_kill = _poll(lambda: _counted(stack, name, "v1"), 120, "the first counts")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        at_kill = _counted(stack, name, "v1")  # what the killed worker had committed
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert 0 < at_kill < N, f"the kill should land mid-stream ({at_kill} of {N} counted)"
    # The restarted one takes the rest in batches of the embedded stack's size (256): what it
    # resumes from is the stored counts' offsets, whatever its batches.
    second = _start(stack, prefix, log, batch_max_items=256)
    try:
        _poll(lambda: _counted(stack, name, "sentinel") == 2, 120, "both sentinels")
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert _counted(stack, name, "v1") == N
