"""`inferstream chaos`: a workload through a fresh embedded stack while a nemesis kills workers
and the broker, stops Postgres and S3, restarts the whole stack, freezes servers and workers
(SIGSTOP), injects poison records and churns group membership; then `verify`.

Loopback only, bounded in time: every wait has a deadline and the run fails rather than hangs.
Whatever ends the run (the end, an exception, SIGINT, SIGTERM), teardown stops every worker and
server it started. What was executed is recorded, not what was planned.

This module runs the workload, the drain and the teardown; lanes.py executes the faults and
measures recovery, result.py holds what the run reports, media.py the media submissions.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import psycopg
from confluent_kafka import KafkaException, Producer

from inferstream.chaos import faults
from inferstream.chaos.drain import pipeline_behind
from inferstream.chaos.lanes import FaultLanes
from inferstream.chaos.media import MediaLane, ensure_bundle
from inferstream.chaos.publish import ResilientPublisher
from inferstream.chaos.result import ChaosError, ChaosResult, Executed, MediaOutcome
from inferstream.chaos.schedule import MEDIA_PREFIX, ChaosConfig, plan
from inferstream.chaos.workers import WorkerNemesis
from inferstream.chaos.workload import Examples, example_payloads, load_examples
from inferstream.models import ensure_minilm_bundle
from inferstream.schemas import make_headers, new_submission_id
from inferstream.settings import DATA_DIR_ENV, KafkaSettings, PostgresSettings, WorkerSettings
from inferstream.stack import down
from inferstream.verify import check
from inferstream.verify.collect import collect
from inferstream.workers.supervisor import Supervisor

# The result types are imported from here by the CLI and the tests (result.py defines them).
__all__ = ["POISON_MARKER", "ChaosError", "ChaosResult", "ChaosRun", "MediaOutcome"]

POISON_MARKER = "CHAOS-POISON-7f3a9c"


class ChaosRun(FaultLanes):
    def __init__(
        self,
        config: ChaosConfig,
        data_dir: Path,
        examples: Path | Examples,
        say: Callable[[str], None],
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.examples = examples if isinstance(examples, Examples) else load_examples(examples)
        self.say = say
        self.faults = plan(config)
        self.supervisor = Supervisor("bug_report", config.replicas, log_dir=data_dir / "logs")
        self.nemesis = WorkerNemesis(self.supervisor)
        self.ids: list[str] = []
        self.poison_ids: list[str] = []
        self.published = 0
        self.executed: list[Executed] = []
        self.run_id = f"chaos-{config.seed}-{new_submission_id().lower()}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[str] = []
        self._publishing_done = threading.Event()
        self._t0 = 0.0
        self._behind: dict[tuple[str, int], tuple[int, int]] = {}
        self.media = (
            MediaLane(config.media, self.run_id, data_dir / "logs") if config.media else None
        )

    def run(self) -> ChaosResult:
        started = time.monotonic()
        os.environ[DATA_DIR_ENV] = str(self.data_dir)
        os.environ["INFERSTREAM_WORKER_FAULT_POISON_MARKER"] = POISON_MARKER
        final: dict[str, int | None] = {}
        try:
            faults.cli("up")
            self.say(f"run id: {self.run_id} (inferstream verify --since {self.run_id})")
            models = WorkerSettings.load().models_dir or self.data_dir / "models"
            # Built here once: a fresh run's models dir is empty, and both infer workers built
            # the bundle at once (each 2 CPU s and 0.6 GB at the start of the run).
            ensure_minilm_bundle(models)
            self.supervisor.start()
            self.supervisor.wait_ready(self.config.ready_timeout_s)
            if self.media is not None:
                ensure_bundle(models, self.say)
                self.media.start(self.config.ready_timeout_s)
            self._t0 = time.monotonic()
            self._spawn(self._publish, "chaos-publisher")
            if self.media is not None:
                publish = partial(
                    self.media.publish, self._stop, self.config.publish_s, faults.Interrupted
                )
                self._spawn(publish, "chaos-media-publisher")
            self._spawn(self._server_lane, "chaos-server-lane")
            for fault in (f for f in self.faults if not f.server_lane):
                self._until(self._t0 + fault.at_s)
                self._worker_fault(fault)
            while any(t.is_alive() for t in self._threads):
                self._until(time.monotonic() + 0.5)
            self.nemesis.end_storms()
            drained = self._drain()
            self.nemesis.restart_exited(force=True)
            if self.media is not None:
                self.media.nemesis.restart_exited(force=True)
            self._wait_restarted_ready()
            # The workers stop (gracefully: commit, exit) before verify reads the topics: verify
            # checks what is stored, and eight members polling the s3:// broker every 20 ms
            # slowed its reads to a few records a minute on the loaded 2-core machine
            # (docs/reliability.md, "the frozen broker").
            self._stop_workers()
            report = check(collect("bug_report"), since=self.run_id)
            rows, poison_dead = self._rows(), self._poison_dead()
            media = self._media_outcome()
        finally:
            final = self._teardown()
        return ChaosResult(
            faults=self.faults,
            executed=self.executed,
            exits=self.nemesis.exits,
            final_exits=final,
            report=report,
            restarts=self.nemesis.restarts,
            submissions=len(self.ids),
            published=self.published,
            rows=rows,
            poison_dead=poison_dead,
            elapsed_s=time.monotonic() - started,
            drained=drained,
            notes=self._errors,
            media=media,
        )

    def _media_outcome(self) -> MediaOutcome | None:
        lane = self.media
        if lane is None:
            return None
        report = lane.verify()
        exits = lane.nemesis.exits
        return MediaOutcome(len(lane.ids), lane.published, lane.rows(), report, exits)

    # ---------------------------------------------------------------- threads and teardown

    def _spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except faults.Interrupted:
                pass
            except Exception as err:  # any failure of a part fails the whole run, loudly
                self._errors.append(f"{name}: {type(err).__name__}: {err}")

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _check_threads(self) -> None:
        if self._errors:
            raise ChaosError("; ".join(self._errors))

    def _wait_restarted_ready(self) -> None:
        """A worker restarted moments ago is stopped only once it runs: the final stop checks
        that every worker leaves gracefully, and one still starting has nothing to leave."""
        lanes = [(self.supervisor, self.nemesis)]
        if self.media is not None:
            lanes.append((self.media.supervisor, self.media.nemesis))
        for supervisor, nemesis in lanes:
            regular = [n for n in supervisor.procs if n not in nemesis.storm_members]
            try:
                supervisor.wait_ready(self.config.ready_timeout_s, regular)
            except (RuntimeError, TimeoutError) as err:
                self._errors.append(f"before the final stop: {err}")

    def _stop_workers(self) -> dict[str, int | None]:
        """Stop the fault threads, then every worker gracefully; their exit codes (a media
        worker's name with MEDIA_PREFIX)."""
        with _signals_held():
            self._stop.set()  # faults cut their waits short and never start a server again
            for thread in self._threads:
                thread.join(timeout=120)
            media: dict[str, int | None] = {}
            if self.media is not None:
                media = {f"{MEDIA_PREFIX}{n}": c for n, c in self.media.supervisor.stop().items()}
            return {**self.supervisor.stop(), **media}

    def _teardown(self) -> dict[str, int | None]:
        """Stop every thread, worker and server this run started (data dir kept for a look)."""
        codes = self._stop_workers()  # a no-op for workers that were stopped already
        with _signals_held():
            down(self.data_dir)
        return codes

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
        publisher = ResilientPublisher("bug_report", self.run_id, kafka)
        start = time.monotonic()
        for i, payload in enumerate(payloads):
            if self._stop.is_set():
                raise faults.Interrupted
            sid = str(uuid.uuid4())
            poisoned = POISON_MARKER in str(payload["description"])
            (self.poison_ids if poisoned else self.ids).append(sid)
            publisher.publish(payload, sid)
            if i in invalid_at:
                headers: list[tuple[str, str | bytes]] = list(make_headers(1))
                key = f"chaos-invalid-{i}".encode()
                producer.produce("submissions.bug_report", b"{broken", key, headers=headers)
                producer.poll(0)
            self._stop.wait(max(0.0, start + (i + 1) * interval - time.monotonic()))
        self.published = publisher.finish(self._stop)
        if producer.flush(120) != 0:
            raise RuntimeError("invalid records not acknowledged within 120 s")
        self._publishing_done.set()

    # ---------------------------------------------------------------- drain

    def _drain(self) -> bool:
        """Until every row and poison dead letter is in, enrich and infer have committed their
        inputs to the end and the sink has consumed its own to the end (the redeliveries behind
        the last row included: drain.py), or the deadline."""
        deadline = time.monotonic() + self.config.drain_timeout_s
        expected = len(self.ids)
        while time.monotonic() < deadline:
            self._check_threads()
            self.nemesis.restart_exited()
            if self.media is not None:
                self.media.nemesis.restart_exited()
            if (
                self._rows() >= expected
                and self._poison_dead() >= len(self.poison_ids)
                and self._caught_up()
                and (self.media is None or self.media.drained())
            ):
                return True
            time.sleep(0.5)
        if self._behind:
            where = ", ".join(f"{t}:{p} {s}/{e}" for (t, p), (s, e) in sorted(self._behind.items()))
            self.say(f"drain: the pipeline was still behind on {where} (stored/end)")
        return False

    def _caught_up(self) -> bool:
        try:
            self._behind = pipeline_behind("bug_report")
        except (psycopg.OperationalError, TimeoutError, KafkaException):
            return False  # a server is still coming back: ask again
        return not self._behind

    def _count(self, sql: str, ids: list[str]) -> int:
        try:
            with psycopg.connect(PostgresSettings.load().conninfo(), connect_timeout=2) as conn:
                row = conn.execute(sql, (ids,)).fetchone()
        except psycopg.OperationalError:
            return -1  # Postgres is down or frozen (a fault in progress)
        return int(row[0]) if row else 0

    def _rows(self) -> int:
        return self._count(
            "SELECT count(*) FROM results_bug_report WHERE submission_id = ANY(%s)", self.ids
        )

    def _poison_dead(self) -> int:
        return self._count(
            "SELECT count(DISTINCT submission_id) FROM dead_letters "
            "WHERE submission_id = ANY(%s) AND kind = 'poison' AND stage = 'infer'",
            self.poison_ids,
        )


@contextmanager
def _signals_held() -> Iterator[None]:
    """Teardown is not interrupted by a second SIGINT/SIGTERM (it would leave servers behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
