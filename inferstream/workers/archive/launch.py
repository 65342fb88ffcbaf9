"""Start the archive stage of one task in this process: settings, health server, worker."""

from __future__ import annotations

import structlog

from inferstream.observability import configure_logging
from inferstream.settings import KafkaSettings, ObjectStoreSettings, WorkerSettings
from inferstream.settings.archive import ArchiveSettings
from inferstream.storage import ObjectStore
from inferstream.topology import group_id
from inferstream.workers.archive.driver import STAGE, ArchiveWorker
from inferstream.workers.runtime.health import HealthState, serve
from inferstream.workers.runtime.process import run_until_stopped, settle_heap

log = structlog.get_logger("inferstream.worker")


def run_archive(task: str, metrics_port: int | None = None) -> None:
    """Run until SIGTERM/SIGINT; needs Kafka and S3 write access, no Postgres."""
    kafka, worker = KafkaSettings.load(), WorkerSettings.load()
    configure_logging(worker.log_level)
    structlog.contextvars.bind_contextvars(stage=STAGE, task=task)
    health = HealthState(stale_after_s=max(30.0, kafka.max_poll_interval_ms / 1000))
    port = worker.metrics_port if metrics_port is None else metrics_port
    server = serve(health, worker.metrics_host, port)
    log.info("health and metrics", url=f"http://{worker.metrics_host}:{server.server_port}")
    store = ObjectStore(ObjectStoreSettings.load())
    group = group_id(STAGE, task, worker.group_prefix)
    # The worker setting every consumer of the stack's topics shares (the embedded stack sets it).
    gap_wait_s = worker.offset_gap_wait_ms / 1000
    archive = ArchiveWorker(task, store, ArchiveSettings.load(), kafka, group, health, gap_wait_s)
    health.ready_check = archive.ready
    # As the other stages do once built: start-up's objects frozen, young collections rarer.
    settle_heap()

    run_until_stopped(
        archive.run,
        archive.request_stop,
        server=server,
        leave_group_on_close=kafka.leave_group_on_close,
        stopping="stopping: the open files stay uncommitted",
    )
