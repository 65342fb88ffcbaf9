"""A fresh embedded stack and the bug_report stages for one benchmark run.

Started the way `inferstream demo` and the integration tests start it (`inferstream up` in a data
dir of its own, stages as separate worker processes), loopback only; every wait has a deadline
and the stack is stopped (`inferstream down`) on exit, whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Producer

from inferstream.client import Publisher
from inferstream.schemas import build_envelope, encode
from inferstream.settings import DATA_DIR_ENV, KafkaSettings, PostgresSettings
from inferstream.workers.supervisor import Supervisor

TASK = "bug_report"
TABLE = "results_bug_report"
MODELS_ENV = "INFERSTREAM_WORKER_MODELS_DIR"


class BenchError(RuntimeError):
    """A benchmark could not run (stack, worker or deadline); the message says what."""


def _cli(*args: str, timeout_s: float = 300.0) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BenchError(f"inferstream {' '.join(args)} failed: {tail[0]}")


def models_cache() -> Path:
    """Built ONNX bundles shared by every run (building one takes a second or two)."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "inferstream" / "models"


@dataclass
class BenchStack:
    """An embedded stack in ``data_dir``; workers get ``worker_env`` on top of os.environ."""

    data_dir: Path
    supervisors: list[Supervisor] = field(default_factory=list)
    # On a reused stack (the smoke test): leave the workers running at the end for the next
    # scenario that starts the same stages with the same environment (see _parked).
    share_workers: bool = False
    keys: dict[int, WorkersKey] = field(default_factory=dict)  # id(supervisor) -> its key

    @property
    def postgres(self) -> PostgresSettings:
        return PostgresSettings.load()

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings.load()

    def conninfo(self) -> str:
        return self.postgres.conninfo()

    def start_workers(
        self,
        replicas: Mapping[str, int],
        env: Mapping[str, str] | None = None,
        ready_timeout_s: float = 300.0,
    ) -> Supervisor:
        """Start the stages (separate processes) and wait until every one is ready; or take
        the parked set started with the same replicas and environment (share_workers)."""
        key = _workers_key(replicas, env)
        if _parked and self.share_workers and _parked[0][0] == key:
            supervisor = _parked.pop()[1]
            self.supervisors.append(supervisor)
            self.keys[id(supervisor)] = key
            self.check_workers()
            return supervisor
        release_parked()  # never two sets of one consumer group at once
        supervisor = Supervisor(TASK, dict(replicas), log_dir=self.data_dir / "logs")
        saved = {key: os.environ.get(key) for key in (env or {})}
        os.environ.update(env or {})
        try:
            supervisor.start()
        finally:
            _restore_environ(saved)
        self.supervisors.append(supervisor)
        self.keys[id(supervisor)] = key
        try:
            supervisor.wait_ready(ready_timeout_s)
        except (RuntimeError, TimeoutError) as err:
            raise BenchError(f"{err}; logs in {self.data_dir / 'logs'}") from err
        return supervisor

    def stop_workers(self) -> None:
        for supervisor in self.supervisors:
            key = self.keys.pop(id(supervisor), None)
            if self.share_workers and key and not _parked and not supervisor.failed():
                _parked.append((key, supervisor))
            else:
                supervisor.stop(grace_s=20.0)
        self.supervisors.clear()

    def check_workers(self) -> None:
        for supervisor in self.supervisors:
            failed = supervisor.failed()
            if failed:
                raise BenchError(f"a worker exited: {failed}; logs in {self.data_dir / 'logs'}")

    def publish(
        self, payloads: Sequence[Mapping[str, Any]], source: str, topic: str | None = None
    ) -> list[str]:
        """Publish as fast as the producer goes (acks=all); returns the submission ids.
        ``topic``: the same envelopes to another topic (a contender's own copy)."""
        ids = [str(uuid.uuid4()) for _ in payloads]
        if topic is None:
            with Publisher(TASK, self.kafka, source=source) as publisher:
                for sid, payload in zip(ids, payloads, strict=True):
                    publisher.publish(payload, submission_id=sid, wait=False)
            return ids
        producer = Producer(self.kafka.producer_config())
        for sid, payload in zip(ids, payloads, strict=True):
            envelope = build_envelope(TASK, payload, submission_id=sid, source=source)
            while True:
                try:
                    producer.produce(topic, encode(envelope), sid.encode())
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
        if producer.flush(60):
            raise BenchError(f"records to {topic} not acknowledged within 60s")
        return ids

    def forget_results(self) -> None:
        """Empty the results table. Infer workers rebuild their dedup indexes from it on start
        (then follow the result topic from the sink's stored offsets), so after this a run
        scores against no history, as the first run of a stack does."""
        with psycopg.connect(self.conninfo()) as conn:
            conn.execute(f"TRUNCATE {TABLE}")

    def count_all(self) -> int:
        with psycopg.connect(self.conninfo()) as conn:
            row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        return int(row[0]) if row else 0

    def wait_rows(self, ids: Sequence[str], timeout_s: float, poll_s: float = 0.2) -> float:
        """Poll until every id has a row; returns time.monotonic() when the last one was seen."""
        return wait_for_ids(
            self.conninfo(), TABLE, ids, timeout_s, poll_s, on_poll=self.check_workers
        )

    def latencies(self, ids: Sequence[str]) -> list[float]:
        """Seconds from submission (envelope submitted_at, set at publish) to the row's commit
        (created_at: the sink transaction's start, so short by that transaction's duration)."""
        with psycopg.connect(self.conninfo()) as conn:
            rows = conn.execute(
                f"SELECT extract(epoch FROM created_at - submitted_at) FROM {TABLE} "
                "WHERE submission_id = ANY(%s)",
                (list(ids),),
            ).fetchall()
        return sorted(float(r[0]) for r in rows if r[0] is not None)


PROBE = 32


def wait_for_ids(
    conninfo: str,
    table: str,
    ids: Sequence[str],
    timeout_s: float,
    poll_s: float,
    on_poll: Callable[[], None] = lambda: None,
) -> float:
    """Poll ``table`` until every id has a row; returns time.monotonic() when the last was seen.

    The polls run on the cores being measured, so they must cost next to nothing: one
    connection (a connection per poll forked a Postgres backend each time); see poll_ids."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return poll_ids(conn, table, ids, timeout_s, poll_s, on_poll)


def poll_ids(
    conn: psycopg.Connection[Any],
    table: str,
    ids: Sequence[str],
    timeout_s: float,
    poll_s: float,
    on_poll: Callable[[], None] = lambda: None,
) -> float:
    """wait_for_ids on a connection the caller holds (an autocommit one): bench overhead reads
    its backend's CPU at both ends of the window. Each poll asks only for the last ``PROBE`` ids
    still missing (index lookups; asking for all of thousands of ids scanned the table at
    every poll). Records are processed roughly in publish order, so the rest are checked once
    those have rows."""
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    probe = list(ids[-PROBE:])
    probe_done = False
    while True:
        ask = list(pending) if probe_done else [i for i in probe if i in pending]
        rows = conn.execute(
            f"SELECT submission_id::text FROM {table} WHERE submission_id = ANY(%s)", (ask,)
        ).fetchall()
        pending.difference_update(str(r[0]) for r in rows)
        if not pending:
            return time.monotonic()
        if not probe_done and pending.isdisjoint(probe):
            probe_done = True
            continue  # the probe is done: ask for the rest at once
        on_poll()
        if time.monotonic() > deadline:
            done = len(ids) - len(pending)
            raise BenchError(f"only {done}/{len(ids)} rows in {table} after {timeout_s:.0f}s")
        time.sleep(poll_s)  # the poll interval, not a synchronisation


# A running stack every scenario of this process uses instead of a fresh one (`inferstream bench
# --stack-dir`, for the smoke test: one `up` for all scenarios instead of one each).
_running: list[Path] = []

WorkersKey = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]
# The one worker set left running on a reused stack by a scenario that shares its workers, with
# the replicas and environment it was started with: the next sharing scenario that asks for the
# same takes it instead of paying the start-up again (imports, model, group join: most of a
# tiny run). Any other start, and every scenario that does not share, stops it first: a
# scenario that publishes a backlog before starting its workers finds nobody consuming it.
_parked: list[tuple[WorkersKey, Supervisor]] = []


def _workers_key(replicas: Mapping[str, int], env: Mapping[str, str] | None) -> WorkersKey:
    return tuple(sorted(replicas.items())), tuple(sorted((env or {}).items()))


def release_parked() -> None:
    """Stop the parked worker set, if any (end of the process, or another set starts)."""
    while _parked:
        _parked.pop()[1].stop(grace_s=20.0)


def use_running_stack(data_dir: Path) -> None:
    """Run the scenarios of this process on the stack already up in ``data_dir``; it is left
    running. Its results table is emptied per scenario that reads it, but what earlier runs
    left unconsumed in its topics is drained by the next workers first: figures from a reused
    stack are not comparable with those of a fresh one."""
    _running[:] = [Path(data_dir)]


def _restore_environ(saved: Mapping[str, str | None]) -> None:
    """Put back the variables as they were before a scenario set them (None: unset)."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def bench_stack(
    data_dir: Path | None = None, share_workers: bool = False, empty_results: bool = True
) -> Iterator[BenchStack]:
    """A fresh embedded stack for one scenario (a temporary data dir unless given), or the
    running one named by use_running_stack. ``share_workers`` (only on that running stack):
    the scenario may take the workers an earlier one left running and leave its own.
    ``empty_results`` False: the running stack's bug_report results are left as they are, for a
    scenario that never reads them (media, similarity), so that another bench process on the
    same stack (the smoke test runs two) does not lose the rows it is waiting for."""
    reused = _running[0] if _running and data_dir is None else None
    if not (share_workers and reused):
        release_parked()
    with tempfile.TemporaryDirectory(prefix="inferstream-bench-") as tmp:
        root = reused or (Path(data_dir) if data_dir is not None else Path(tmp))
        saved = {key: os.environ.get(key) for key in (DATA_DIR_ENV, MODELS_ENV)}
        os.environ[DATA_DIR_ENV] = str(root)
        os.environ.setdefault(MODELS_ENV, str(models_cache()))
        stack = BenchStack(root, share_workers=share_workers and reused is not None)
        try:
            if reused is None:
                _cli("up")
            elif empty_results:
                stack.forget_results()
            yield stack
        finally:
            stack.stop_workers()
            try:
                if reused is None:
                    _cli("down", timeout_s=120.0)
            finally:
                _restore_environ(saved)
