"""`inferstream worker monitor --task T`: the monitor's consumer on the project's runner, its
evaluation timer, and /health, /ready, /metrics."""

from __future__ import annotations

import threading

import structlog
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.monitor.catalog import Catalog
from inferstream.monitor.driver import MonitorLogic
from inferstream.monitor.evaluator import Evaluator, run_timer
from inferstream.monitor.spec import TaskSpec, feedback_topic, monitor_topic, spec_for
from inferstream.observability import configure_logging
from inferstream.settings import KafkaSettings, PostgresSettings, WorkerSettings, data_dir
from inferstream.settings.monitor import MonitorSettings
from inferstream.topology import group_id
from inferstream.workers.runtime.health import HealthState, serve
from inferstream.workers.runtime.process import run_until_stopped
from inferstream.workers.runtime.runner import StageRunner

log = structlog.get_logger("inferstream.monitor")
TIMEOUT_S = 15


def ensure_topics(kafka: KafkaSettings, task: str) -> None:
    """Create feedback.<task> and monitor.<task> when missing, sized like results.<task>
    (they are not in the topology's desired topics yet: docs/monitoring.md)."""
    admin = AdminClient(kafka.admin_config())
    topics = admin.list_topics(timeout=TIMEOUT_S).topics
    results = topics.get(f"results.{task}")
    if results is None:
        raise SystemExit(f"results.{task} does not exist: run `inferstream topology apply`")
    partitions = len(results.partitions)
    replication = max((len(p.replicas) for p in results.partitions.values()), default=1)
    missing = [t for t in (feedback_topic(task), monitor_topic(task)) if t not in topics]
    if not missing:
        return
    futures = admin.create_topics([NewTopic(t, partitions, replication) for t in missing])
    for name, future in futures.items():
        try:
            future.result(TIMEOUT_S)
            log.info("created topic", topic=name, partitions=partitions)
        except Exception as err:  # created meanwhile by another member: fine
            if "already exists" not in str(err).lower():
                raise


def run_monitor(task: str, metrics_port: int | None = None) -> None:
    kafka, worker, postgres = KafkaSettings.load(), WorkerSettings.load(), PostgresSettings.load()
    settings = MonitorSettings.load()
    configure_logging(worker.log_level)
    structlog.contextvars.bind_contextvars(stage="monitor", task=task)
    spec = spec_for(task)
    ensure_topics(kafka, task)
    health = HealthState(stale_after_s=max(30.0, kafka.max_poll_interval_ms / 1000))
    server = serve(
        health, worker.metrics_host, worker.metrics_port if metrics_port is None else metrics_port
    )
    log.info("health and metrics", url=f"http://{worker.metrics_host}:{server.server_port}")
    logic, evaluator = build(
        spec, postgres, worker, settings, group_id("monitor", task, worker.group_prefix)
    )
    health.ready_check = logic.ready
    runner = StageRunner(
        logic, group_id("monitor", task, worker.group_prefix), kafka, worker, health
    )
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
