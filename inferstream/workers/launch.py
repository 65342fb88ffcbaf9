"""Start one stage of one task in this process: settings, plug-in, health server, runner."""

from __future__ import annotations

import structlog

from inferstream.observability import configure_logging
from inferstream.plugins import InferContext, load_plugin
from inferstream.settings import (
    KafkaSettings,
    PostgresSettings,
    WebhookSettings,
    WorkerSettings,
    data_dir,
)
from inferstream.topology import group_id
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.infer.driver import InferLogic
from inferstream.workers.runtime.health import HealthState, member_ready, serve
from inferstream.workers.runtime.logic import StageLogic
from inferstream.workers.runtime.process import run_until_stopped, settle_heap
from inferstream.workers.runtime.runner import StageRunner
from inferstream.workers.sink.driver import SinkLogic
from inferstream.workers.sink.writer import PostgresSinkWriter
from inferstream.workers.webhooks.driver import WebhookLogic

log = structlog.get_logger("inferstream.worker")


def build_logic(
    stage: str,
    task: str,
    kafka: KafkaSettings,
    worker: WorkerSettings,
    postgres: PostgresSettings,
) -> StageLogic:
    plugin = load_plugin(task)
    if stage == "enrich":
        return EnrichLogic(plugin)
    if stage == "infer":
        context = InferContext(
            models_dir=worker.models_dir or data_dir() / "models",
            postgres=postgres,
            max_batch_items=worker.batch_max_items,
            max_batch_tokens=worker.model_call_tokens,
            poison_marker=worker.fault_poison_marker,
        )
        logic = InferLogic(
            plugin,
            plugin.load_inferer(context),
            kafka,
            postgres,
            worker.group_prefix,
            gap_wait_s=worker.offset_gap_wait_ms / 1000,
        )
        logic.start()  # history from Postgres, then the result topic's tail in a thread
        return logic
    if stage == "sink":
        writer = PostgresSinkWriter(
            postgres.conninfo(), plugin.table, group_id("sink", task, worker.group_prefix), task
        )
        return SinkLogic(plugin, writer)
    if stage == "webhooks":
        return WebhookLogic(task, WebhookSettings.load())
    # archive has its own launcher (inferstream.workers.archive.launch): not a StageRunner stage.
    raise ValueError(f"unknown stage {stage!r}; expected enrich, infer, sink or webhooks")


def run_stage(stage: str, task: str, metrics_port: int | None = None) -> None:
    kafka, worker, postgres = KafkaSettings.load(), WorkerSettings.load(), PostgresSettings.load()
    configure_logging(worker.log_level)
    structlog.contextvars.bind_contextvars(stage=stage, task=task)
    health = HealthState(stale_after_s=max(30.0, kafka.max_poll_interval_ms / 1000))
    port = worker.metrics_port if metrics_port is None else metrics_port
    server = serve(health, worker.metrics_host, port)
    log.info("health and metrics", url=f"http://{worker.metrics_host}:{server.server_port}")
    health.ready_check = lambda: (False, "loading the stage")
    logic = build_logic(stage, task, kafka, worker, postgres)
    health.ready_check = member_ready(health, logic.ready)
    runner = StageRunner(logic, group_id(stage, task, worker.group_prefix), kafka, worker, health)
    settle_heap()

    run_until_stopped(
        runner.run,
        runner.request_stop,
        server=server,
        leave_group_on_close=kafka.leave_group_on_close,
    )
