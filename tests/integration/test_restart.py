"""Acknowledged submissions survive the embedded broker: a kill -9 of Tansu alone and a whole
`inferstream down` / `up`, with no worker running. Then the workers start and every submission
lands in Postgres exactly once, a consumer group resumes from the offsets it committed before,
and `inferstream verify` is green across the restarts. The same `down` / `up` keeps a
Postgres row and an S3 object, and `down` leaves no server process running.

A stack of its own (not the session one): it is stopped and started again mid-test.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from _minilm import minilm_models_dir
from _stack import Stack, start_stack
from confluent_kafka import OFFSET_STORED, Consumer, TopicPartition

from inferstream.client import Publisher
from inferstream.schemas import BugReportPayload
from inferstream.settings import DATA_DIR_ENV, KafkaSettings, ObjectStoreSettings, PostgresSettings
from inferstream.stack import StackState, down, restart_broker
from inferstream.storage import ObjectStore
from inferstream.workers.supervisor import Supervisor

EXAMPLES = Path(__file__).parents[2] / "examples" / "bug_reports.jsonl"
TOPIC = "submissions.bug_report"
GROUP = "test-restart.resume"
N = 60


def _payloads(n: int) -> list[dict[str, Any]]:
    """The first n valid bug reports of the examples (their own ids are not reused)."""
    found: list[dict[str, Any]] = []
    for line in EXAMPLES.read_text().splitlines():
        try:
            payload = json.loads(line).get("payload")
            BugReportPayload.model_validate(payload)
        except (ValueError, AttributeError):  # not JSON, not an object, or not a valid report
            continue
        found.append(payload)
        if len(found) == n:
            return found
    raise AssertionError(f"only {len(found)} valid reports in {EXAMPLES}")


def _publish(payloads: list[dict[str, Any]]) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in payloads]
    with Publisher("bug_report", KafkaSettings.load()) as publisher:
        for sid, payload in zip(ids, payloads, strict=True):
            publisher.publish(payload, submission_id=sid, wait=False)
    # Leaving the block flushes: every id is acknowledged (acks=all) or it raised.
    return ids


def _poll(
    check: Callable[[], bool], deadline_s: float, what: str, on_poll: Callable[[], None]
) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        on_poll()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.5)  # the poll interval, not a synchronisation


def _consumer() -> Consumer:
    config = KafkaSettings.load().consumer_config(GROUP)
    return Consumer({**config, "enable.auto.commit": False, "auto.offset.reset": "earliest"})


def _commit_some() -> dict[int, int]:
    """Commit offset 2+p on every partition of the submissions topic for GROUP."""
    consumer = _consumer()
    try:
        parts = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
        offsets = [TopicPartition(TOPIC, p, 2 + p) for p in sorted(parts)]
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in offsets}


def _resumed_at(partitions: list[int], deadline_s: float = 60.0) -> dict[int, int]:
    """The offset of the first record GROUP reads on each partition when it resumes from its
    stored offsets (OFFSET_STORED: what the broker kept for the group)."""
    consumer = _consumer()
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_STORED) for p in partitions])
    first: dict[int, int] = {}
    deadline = time.monotonic() + deadline_s
    try:
        while len(first) < len(partitions):
            assert time.monotonic() < deadline, f"resumed only on {sorted(first)}"
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            first.setdefault(msg.partition() or 0, msg.offset() or 0)
    finally:
        consumer.close()
    return first


def _rows(ids: list[str]) -> tuple[int, int]:
    with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT submission_id) FROM results_bug_report "
            "WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _submission_status(sid: str) -> tuple[str] | None:
    with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
        row = conn.execute(
            "SELECT status FROM submissions WHERE submission_id = %s", (sid,)
        ).fetchone()
    return (str(row[0]),) if row else None


@pytest.fixture
def own_stack(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    data_dir = tmp_path / "stack"
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(minilm_models_dir(tmp_path_factory)))
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    monkeypatch.delenv("INFERSTREAM_STACK_BROKER_STORAGE", raising=False)
    try:
        yield start_stack(data_dir)
    finally:
        down(data_dir)


def test_acknowledged_submissions_survive_broker_kill_and_stack_restart(
    own_stack: Stack, tmp_path: Path
) -> None:
    stack = own_stack
    payloads = _payloads(N)
    state = StackState.load(stack.data_dir)
    assert state.tansu is not None and state.tansu.storage == "s3"

    # 1. Half published, then kill -9 of the broker alone, restarted on the same port.
    ids = _publish(payloads[: N // 2])
    committed = _commit_some()
    os.kill(state.tansu.pid, signal.SIGKILL)
    restarted = restart_broker(stack.data_dir)
    assert restarted.port == state.tansu.port and restarted.pid != state.tansu.pid
    ids += _publish(payloads[N // 2 :])

    # 2. The whole stack down and up again (the same code as `inferstream down` / `up`), with
    #    a row in Postgres and an object in S3 to keep, and no server process left by down.
    # stack.toml tunes the clients to Tansu: it holds every empty fetch for the full wait.
    assert KafkaSettings.load().consumer_config("g")["fetch.wait.max.ms"] == 100
    sid, blob = str(uuid.uuid4()), os.urandom(4096)
    with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
        conn.execute(
            "INSERT INTO submissions (submission_id, task, status) VALUES (%s, %s, %s)",
            (sid, "bug_report", "processing"),
        )
    key = ObjectStore(ObjectStoreSettings.load()).put_blob(blob).key
    state = StackState.load(stack.data_dir)
    pids = [state.tansu.pid, state.postgres.pid, state.seaweed.pid]  # type: ignore[union-attr]
    result = stack.cli("down")
    assert result.returncode == 0, result.stderr
    assert not any(_running(pid) for pid in pids)
    assert stack.cli("status").returncode == 1
    result = stack.cli("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created" not in result.stdout, result.stdout  # every topic was still there
    assert stack.cli("status").returncode == 0
    assert _submission_status(sid) == ("processing",)
    assert ObjectStore(ObjectStoreSettings.load()).get_bytes(key) == blob

    # 3. The group resumes where it committed, before anything else reads the topic.
    assert _resumed_at(sorted(committed)) == committed

    # 4. Only now the workers: every acknowledged submission lands, exactly once.
    supervisor = Supervisor("bug_report", 1, log_dir=tmp_path / "logs")
    supervisor.start()

    def alive() -> None:
        assert not supervisor.failed(), f"a worker died: {supervisor.failed()}"

    try:
        _poll(lambda: _rows(ids)[0] >= N, 300, f"{N} rows", alive)
        assert _rows(ids) == (N, N)
        verify = stack.cli("verify", "--task", "bug_report", timeout=240)
    finally:
        codes = supervisor.stop()
    assert all(code == 0 for code in codes.values()), codes
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
