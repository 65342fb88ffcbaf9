"""Scenario 2's contenders outside the pipeline, run as their own processes on the bench stack:
the per-message worker (``naive_worker``) and the Quix Streams application (``quix_app``). Each
is timed from the first publish to its N-th row in its own table, and its CPU (the process plus
the stack's servers) is read over the same window, like the pipeline's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

from inferstream.bench import naive_worker, procs, quix_app, workload
from inferstream.bench.harness import BenchError, BenchStack, wait_for_ids

# quixstreams 3.28 pins confluent-kafka < 2.13 and pydantic < 2.14 (the project runs newer
# ones), so it is installed apart and put first on the contender's path only. The version is
# the one pyproject.toml's `bench` extra names.
QUIX_SPEC = "quixstreams[postgresql]==3.28.1"
QUIX_DIR = Path(sys.prefix) / "quix"
# Texts through the Quix app before the clock starts: its group join, first checkpoint and
# first encode call (the pipeline's warm-up does the same for its stages).
QUIX_WARMUP = 8


def quix_install_hint() -> str:
    return f"{sys.executable} -m pip install --target {QUIX_DIR} '{QUIX_SPEC}'"


def quix_installed() -> bool:
    return (QUIX_DIR / "quixstreams").is_dir()


def quix_version() -> str:
    for dist in metadata.distributions(path=[str(QUIX_DIR)]):
        if dist.metadata["Name"] == "quixstreams":
            return dist.version
    return "(not installed)"


@dataclass(frozen=True)
class ContenderRun:
    texts: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: the process, each server

    @property
    def rate(self) -> float:
        return self.texts / self.seconds


def _process_cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


class _Contender:
    """A contender's process: started, waited for its ``ready`` line, checked while polled."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        # stderr to a file: a pipe nobody reads until the end would block a chatty process
        # (librdkafka and Quix log there) once its buffer filled.
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *argv],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self._exited = False
        assert self.proc.stdout is not None
        try:
            ready = self.proc.stdout.readline().strip() == "ready"
        except BaseException:  # interrupted while it loads: it must not outlive the bench
            self.stop()
            raise
        if not ready:
            tail = self._tail()
            self.stop()
            raise BenchError(f"{argv[0]} did not start: {tail}")

    def _tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-800:]

    def check(self) -> None:
        if self.proc.poll() is None:
            return
        if not self._exited:  # the naive worker exits once done: one more poll sees its last row
            self._exited = True
            return
        raise BenchError(f"contender exited ({self.proc.returncode}): {self._tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # Quix commits its last checkpoint on SIGTERM
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


def _timed(
    stack: BenchStack, contender: _Contender, topic: str, table: str, n: int, timeout_s: float
) -> ContenderRun:
    """Publish n texts to ``topic``; time until each has its row in ``table``."""
    pid = contender.proc.pid
    before = {"contender": _process_cpu(pid), **procs.server_cpu_seconds(stack.data_dir)}
    started = time.monotonic()
    ids = stack.publish(workload.payloads(n), source="bench-naive", topic=topic)
    finished = wait_for_ids(stack.conninfo(), table, ids, timeout_s, 0.1, contender.check)
    after = {"contender": _process_cpu(pid), **procs.server_cpu_seconds(stack.data_dir)}
    return ContenderRun(n, finished - started, procs.delta(after, before))


def run_per_message(
    stack: BenchStack, n: int, timeout_s: float, device: str = "cpu"
) -> ContenderRun:
    """The per-message worker (naive_worker) on n texts."""
    conninfo, bootstrap = stack.conninfo(), stack.kafka.bootstrap_servers
    naive_worker.create_table(conninfo)
    topic = f"{naive_worker.TOPIC}.{uuid.uuid4().hex[:8]}"  # a fresh topic and group per run
    naive_worker.create_topic(bootstrap, topic)
    argv = ["inferstream.bench.naive_worker", bootstrap, conninfo, str(n)]
    contender = _Contender([*argv, str(naive_worker.IDLE_S), device, topic])
    try:
        return _timed(stack, contender, topic, naive_worker.TABLE, n, timeout_s)
    finally:
        contender.stop()


def run_quix(stack: BenchStack, n: int, timeout_s: float, device: str = "cpu") -> ContenderRun:
    """The Quix Streams application (quix_app) on n texts, after a warm-up."""
    if not quix_installed():
        raise BenchError(
            f"quixstreams is not installed for the Quix contender: {quix_install_hint()}"
        )
    conninfo, bootstrap = stack.conninfo(), stack.kafka.bootstrap_servers
    naive_worker.create_table(conninfo, quix_app.TABLE)
    run_id = uuid.uuid4().hex[:8]
    topic = f"bench.quix.submissions.{run_id}"
    naive_worker.create_topic(bootstrap, topic)
    path = [str(QUIX_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    argv = ["inferstream.bench.quix_app", bootstrap, conninfo, topic, f"bench.quix.{run_id}"]
    contender = _Contender([*argv, str(naive_worker.IDLE_S), device], env)
    try:
        warm = stack.publish(workload.payloads(QUIX_WARMUP), source="bench-warmup", topic=topic)
        wait_for_ids(conninfo, quix_app.TABLE, warm, timeout_s, 0.2, contender.check)
        return _timed(stack, contender, topic, quix_app.TABLE, n, timeout_s)
    finally:
        contender.stop()
