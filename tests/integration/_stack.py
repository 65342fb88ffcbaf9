"""The embedded stack as the integration tests use it (started by the session fixture in the
root tests/conftest.py, shared by every test directory).

The stack is started through the real CLI (`inferstream up`) in a temporary data dir and
stopped with `inferstream down` at the end; a server that does not come up fails the
session (never a skip).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from inferstream.settings import (
    DATA_DIR_ENV,
    KafkaSettings,
    ObjectStoreSettings,
    PostgresSettings,
)
from inferstream.stack import down

CLI = [sys.executable, "-m", "inferstream"]


@dataclass
class Stack:
    data_dir: Path
    env: dict[str, str]

    def cli(
        self, *args: str, input_text: str | None = None, timeout: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this stack."""
        return subprocess.run(
            [*CLI, *args],
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings.load()

    @property
    def postgres(self) -> PostgresSettings:
        return PostgresSettings.load()

    @property
    def object_store(self) -> ObjectStoreSettings:
        return ObjectStoreSettings.load()


# The broker's storage engine for the test stacks: s3 (the default, durable) unless this
# variable says memory, to compare the suite's time on both (tests/conftest.py clears every
# INFERSTREAM_* variable, so it cannot be INFERSTREAM_STACK_BROKER_STORAGE).
TEST_BROKER_STORAGE_ENV = "TEST_BROKER_STORAGE"


def start_stack(data_dir: Path) -> Stack:
    env = {**os.environ, DATA_DIR_ENV: str(data_dir)}
    stack = Stack(data_dir, env)
    storage = os.environ.get(TEST_BROKER_STORAGE_ENV)
    result = stack.cli("up", *(["--broker-storage", storage] if storage else []))
    if result.returncode != 0:
        down(data_dir)
        pytest.fail(f"inferstream up failed:\n{result.stdout}\n{result.stderr}")
    return stack


@contextlib.contextmanager
def serve_api(stack: Stack, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the real `inferstream api` on a free loopback port until /ready; yield its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*CLI, "api", "--port", str(port)],
        env={**stack.env, **(extra_env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # A bound, not a pause: at load ~20 one start of the API took over 60 s to be ready.
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise AssertionError(f"inferstream api exited: {err}")
            assert time.monotonic() < deadline, "inferstream api did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def scratch_database(stack: Stack, prefix: str) -> Iterator[str]:
    """A new, empty database on the session's Postgres (its conninfo), dropped afterwards: for
    tests that need a schema of their own (migrated to a chosen version) or an empty table."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield stack.postgres.conninfo(database=name)
    finally:
        with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
