"""`inferstream worker monitor --task T`: the monitor's consumer on the project's runner, its
evaluation timer, and /health, /ready, /metrics."""

from __future__ import annotations

import sys
import threading

import structlog
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from inferstream.monitor.catalog import Catalog
from inferstream.monitor.driver import MonitorLogic
from inferstream.monitor.evaluator import Evaluator, run_timer
from inferstream.monitor.spec import TaskSpec, spec_for
from inferstream.observability import configure_logging
from inferstream.settings import KafkaSettings, PostgresSettings, WorkerSettings, data_dir
from inferstream.settings.monitor import MonitorSettings
from inferstream.topology import (
    DEADLETTER_TOPIC,
    feedback_topic,
    group_id,
    monitor_topic,
    topic_name,
)
from inferstream.workers.runtime.health import HealthState, serve
from inferstream.workers.runtime.process import run_until_stopped, settle_heap
from inferstream.workers.runtime.runner import StageRunner

log = structlog.get_logger("inferstream.monitor")
TIMEOUT_S = 15


def check_topics(kafka: KafkaSettings, task: str) -> None:
    """The topics the monitor reads and writes exist (the topology declares them: `inferstream
    up` or `topology apply` creates them); one line naming the missing ones otherwise."""
    admin = AdminClient(kafka.admin_config())
    topics = admin.list_topics(timeout=TIMEOUT_S).topics
    wanted = (
        topic_name("results", task),
        feedback_topic(task),
        monitor_topic(task),
        DEADLETTER_TOPIC,
    )
    missing = [t for t in wanted if t not in topics]
    if missing:
        print(
            f"missing topics {', '.join(missing)}: run `inferstream topology apply`",
            file=sys.stderr,
        )
        raise SystemExit(2)


def run_monitor(task: str, metrics_port: int | None = None) -> None:
    kafka, worker, postgres = KafkaSettings.load(), WorkerSettings.load(), PostgresSettings.load()
    settings = MonitorSettings.load()
    configure_logging(worker.log_level)
    structlog.contextvars.bind_contextvars(stage="monitor", task=task)
    spec = spec_for(task)
    check_topics(kafka, task)
    health = HealthState(stale_after_s=max(30.0, kafka.max_poll_interval_ms / 1000))
    server = serve(
        health, worker.metrics_host, worker.metrics_port if metrics_port is None else metrics_port
    )
    log.info("health and metrics", url=f"http://{worker.metrics_host}:{server.server_port}")
    logic, evaluator = build(
        spec, postgres, worker, settings, group_id("monitor", task, worker.group_prefix)
    )
    health.ready_check = logic.ready
    # Off the latency path: the monitor judges every few seconds, so its consumer (four
    # topics) takes the background fetch wait; at the latency-critical one it asked the
    # embedded broker for every partition of them ten times a second, traffic or not.
    runner = StageRunner(
        logic,
        group_id("monitor", task, worker.group_prefix),
        kafka,
        worker,
        health,
        background=True,
    )
    settle_heap()
    stop = threading.Event()
    producer = Producer(kafka.producer_config())
    timer = threading.Thread(
        target=run_timer,
        args=(evaluator, producer, stop, settings.evaluate_every_s),
        name="evaluate",
        daemon=True,
    )
    timer.start()
    try:
        run_until_stopped(
            runner.run,
            runner.request_stop,
            server=server,
            leave_group_on_close=kafka.leave_group_on_close,
        )
    finally:
        stop.set()
        timer.join(timeout=TIMEOUT_S)
        producer.flush(TIMEOUT_S)


def build(
    spec: TaskSpec,
    postgres: PostgresSettings,
    worker: WorkerSettings,
    settings: MonitorSettings,
    group: str,
) -> tuple[MonitorLogic, Evaluator]:
    """The consumer's logic and the evaluator, each with its own connection and catalog (they
    run on different threads)."""
    from inferstream.monitor.state import MonitorState

    conninfo = postgres.conninfo()
    models_dir = worker.models_dir or data_dir() / "models"
    logic = MonitorLogic(
        spec, MonitorState(conninfo, spec, group), Catalog(conninfo, models_dir), settings
    )
    evaluator = Evaluator(
        spec, MonitorState(conninfo, spec, group), Catalog(conninfo, models_dir), settings
    )
    return logic, evaluator
