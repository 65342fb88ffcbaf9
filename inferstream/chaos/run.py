"""`inferstream chaos`: a workload through a fresh embedded stack while a nemesis kills workers,
stops Postgres and S3, injects poison records and churns group membership; then `verify`.

Loopback only, bounded in time: every wait has a deadline and the run fails rather than hangs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from inferstream.chaos.schedule import ChaosConfig, Fault, plan
from inferstream.chaos.workload import example_payloads
from inferstream.client import Publisher
from inferstream.schemas import make_headers, new_submission_id
from inferstream.settings import DATA_DIR_ENV, KafkaSettings, PostgresSettings
from inferstream.stack.manager import StackState
from inferstream.stack.servers import pg_pid_from_datadir, stop_postgres, stop_seaweed
from inferstream.verify import Report, check
from inferstream.verify.collect import collect
from inferstream.workers.supervisor import Supervisor

POISON_MARKER = "CHAOS-POISON-7f3a9c"
RESTART_DELAY_S = 1.0


@dataclass
class ChaosResult:
    faults: list[Fault]
    report: Report
    restarts: int
    submissions: int
    rows: int
    poison_dead: int
    elapsed_s: float
    drained: bool
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.drained and self.report.ok


def _cli(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"inferstream {' '.join(args)} failed: {result.stderr[-2000:]}")


class ChaosRun:
    def __init__(
        self, config: ChaosConfig, data_dir: Path, examples: Path, say: Callable[[str], None]
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.examples = examples
        self.say = say
        self.faults = plan(config)
        self.supervisor = Supervisor("bug_report", config.replicas, log_dir=data_dir / "logs")
        self.restarts = 0
        self.paused_restarts: set[str] = set()
        self.ids: list[str] = []
        self.poison_ids: list[str] = []
        self._exited_at: dict[str, float] = {}
        self.published = False
        self.run_id = f"chaos-{config.seed}-{new_submission_id().lower()}"
        self.outages: list[threading.Thread] = []

    def run(self) -> ChaosResult:
        started = time.monotonic()
        os.environ[DATA_DIR_ENV] = str(self.data_dir)
        os.environ["INFERSTREAM_WORKER_FAULT_POISON_MARKER"] = POISON_MARKER
        _cli("up")
        self.say(f"run id: {self.run_id} (inferstream verify --since {self.run_id})")
        try:
            self.supervisor.start()
            self.supervisor.wait_ready(300)
            publisher = threading.Thread(target=self._publish, name="chaos-publisher")
            t0 = time.monotonic()
            publisher.start()
            for fault in self.faults:
                self._until(t0 + fault.at_s)
                self.say(f"fault: {fault.describe()}")
                self._inject(fault)
            publisher.join()
            for outage in self.outages:
                while outage.is_alive():
                    self._until(time.monotonic() + 0.5)
            drained = self._drain()
            self._restart_exited(force=True)
            report = check(collect("bug_report"), since=self.run_id)
            rows = self._rows()
            return ChaosResult(
                faults=self.faults,
                report=report,
                restarts=self.restarts,
                submissions=len(self.ids),
                rows=rows,
                poison_dead=self._poison_dead(),
                elapsed_s=time.monotonic() - started,
                drained=drained,
            )
        finally:
            self.supervisor.stop()
            _cli("down")

    # ---------------------------------------------------------------- workload

    def _publish(self) -> None:
        kafka = KafkaSettings.load()
        payloads = example_payloads(self.examples, self.config.submissions)
        for i in range(self.config.poison):
            poison = dict(payloads[i])
            poison["description"] = f"{poison['description']} {POISON_MARKER}"
            payloads.insert((i + 1) * len(payloads) // (self.config.poison + 1), poison)
        interval = self.config.publish_s / max(1, len(payloads))
        step = len(payloads) / max(1, self.config.invalid)
        invalid_at = {int((j + 0.5) * step) for j in range(self.config.invalid)}
        producer = Producer(kafka.producer_config())
        with Publisher("bug_report", kafka, source=self.run_id) as publisher:
            start = time.monotonic()
            for i, payload in enumerate(payloads):
                sid = str(uuid.uuid4())
                poisoned = POISON_MARKER in str(payload["description"])
                (self.poison_ids if poisoned else self.ids).append(sid)
                publisher.publish(payload, submission_id=sid, wait=False)
                if i in invalid_at:
                    headers: list[tuple[str, str | bytes]] = list(make_headers(1))
                    key = f"chaos-invalid-{i}".encode()
                    producer.produce("submissions.bug_report", b"{broken", key, headers=headers)
                    producer.poll(0)
                time.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
        self.published = True
        producer.flush(60)

    # ---------------------------------------------------------------- faults

    def _until(self, when: float) -> None:
        """Wait for a scheduled time, restarting crashed workers meanwhile."""
        while time.monotonic() < when:
            self._restart_exited()
            time.sleep(min(0.2, max(0.0, when - time.monotonic())))

    def _restart_exited(self, force: bool = False) -> None:
        now = time.monotonic()
        for name in list(self.supervisor.failed()):
            if name in self.paused_restarts:
                continue
            first = self._exited_at.setdefault(name, now)
            if force or now - first >= RESTART_DELAY_S:
                stage, replica = name.split("-", 1)
                self.supervisor.start_one(stage, int(replica) if replica.isdigit() else 0, 0, name)
                self._exited_at.pop(name, None)
                self.restarts += 1

    def _inject(self, fault: Fault) -> None:
        before = self._rows()
        if fault.kind in ("postgres", "s3"):
            # Outages run beside the schedule, so kills can land during them.
            thread = threading.Thread(target=self._outage, args=(fault, before), daemon=True)
            thread.start()
            self.outages.append(thread)
            return
        if fault.kind == "kill":
            proc = self.supervisor.procs.get(fault.target)
            if proc is not None and proc.poll() is None:
                self.supervisor.kill(fault.target)
        elif fault.kind == "storm":
            self._storm(fault)
        fault.recovered_after_s = self._recovery(before, time.monotonic())

    def _outage(self, fault: Fault, rows_before: int) -> None:
        if fault.kind == "postgres":
            stop_postgres(pg_pid_from_datadir(self.data_dir))
        else:
            state = StackState.load(self.data_dir)
            stop_seaweed(state.seaweed.pid if state.seaweed else None)
        time.sleep(fault.duration_s)  # the outage itself, by the schedule
        _cli("up")
        fault.recovered_after_s = self._recovery(rows_before, time.monotonic(), restart=False)

    def _storm(self, fault: Fault) -> None:
        """Extra members join and leave every 2 s for the duration."""
        end = time.monotonic() + fault.duration_s
        extra: list[str] = []
        n = 0
        while time.monotonic() < end:
            name = f"{fault.target}-x{n}"
            self.supervisor.start_one(fault.target, 0, 0, name)
            self.paused_restarts.add(name)
            extra.append(name)
            if len(extra) > 1:
                old = extra.pop(0)
                self.supervisor.procs[old].send_signal(signal.SIGTERM)
            n += 1
            self._until(time.monotonic() + 2.0)
        for name in extra:
            self.supervisor.procs[name].send_signal(signal.SIGTERM)

    def _recovery(
        self, rows_before: int, since: float, timeout_s: float = 60.0, restart: bool = True
    ) -> float | None:
        """Seconds until a new row lands after the fault ended (None: none within timeout, or
        nothing left to process)."""
        deadline = since + timeout_s
        while time.monotonic() < deadline:
            rows = self._rows()
            if rows > rows_before:
                return time.monotonic() - since
            if self.published and rows >= len(self.ids):
                return None
            if restart:
                self._restart_exited()
            time.sleep(0.2)
        return None

    # ---------------------------------------------------------------- drain

    def _drain(self) -> bool:
        deadline = time.monotonic() + self.config.drain_timeout_s
        expected = len(self.ids)
        while time.monotonic() < deadline:
            self._restart_exited()
            if self._rows() >= expected and self._poison_dead() >= len(self.poison_ids):
                return True
            time.sleep(0.5)
        return False

    def _rows(self) -> int:
        try:
            with psycopg.connect(PostgresSettings.load().conninfo(), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM results_bug_report WHERE submission_id = ANY(%s)",
                    (self.ids,),
                ).fetchone()
        except psycopg.OperationalError:
            return -1  # Postgres is down (an outage in progress)
        return int(row[0]) if row else 0

    def _poison_dead(self) -> int:
        try:
            with psycopg.connect(PostgresSettings.load().conninfo(), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(DISTINCT submission_id) FROM dead_letters "
                    "WHERE submission_id = ANY(%s) AND kind = 'poison'",
                    (self.poison_ids,),
                ).fetchone()
        except psycopg.OperationalError:
            return -1
        return int(row[0]) if row else 0
