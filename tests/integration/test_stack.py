"""`inferstream up` / `down` / `up` on a data dir of its own: data survives, processes do not."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psutil
import psycopg
from _stack import start_stack

from inferstream.settings import DATA_DIR_ENV, KafkaSettings, ObjectStoreSettings, PostgresSettings
from inferstream.stack import StackState, down
from inferstream.storage import ObjectStore


def _settings(data_dir: Path) -> tuple[PostgresSettings, ObjectStoreSettings]:
    os.environ[DATA_DIR_ENV] = str(data_dir)
    return PostgresSettings.load(), ObjectStoreSettings.load()


def test_up_down_up_keeps_rows_and_objects(tmp_path: Path) -> None:
    previous = os.environ.get(DATA_DIR_ENV)
    data_dir = tmp_path / "stack"
    sid = str(uuid.uuid4())
    payload = os.urandom(4096)
    try:
        stack = start_stack(data_dir)
        postgres, objects = _settings(data_dir)
        # stack.toml tunes the clients to Tansu: it holds every empty fetch for the full wait.
        assert KafkaSettings.load().consumer_config("g")["fetch.wait.max.ms"] == 100
        with psycopg.connect(postgres.conninfo()) as conn:
            conn.execute(
                "INSERT INTO submissions (submission_id, task, status) VALUES (%s, %s, %s)",
                (sid, "bug_report", "processing"),
            )
        key = ObjectStore(objects).put_blob(payload).key
        state = StackState.load(data_dir)
        pids = [state.tansu.pid, state.postgres.pid, state.seaweed.pid]  # type: ignore[union-attr]

        result = stack.cli("down")
        assert result.returncode == 0, result.stderr
        assert not any(psutil.pid_exists(pid) and _running(pid) for pid in pids)
        assert stack.cli("status").returncode == 1

        stack = start_stack(data_dir)
        postgres, objects = _settings(data_dir)
        with psycopg.connect(postgres.conninfo()) as conn:
            row = conn.execute(
                "SELECT status FROM submissions WHERE submission_id = %s", (sid,)
            ).fetchone()
        assert row == ("processing",)
        assert ObjectStore(objects).get_bytes(key) == payload
        assert stack.cli("status").returncode == 0
    finally:
        down(data_dir)
        if previous is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = previous


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
