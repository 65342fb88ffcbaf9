"""Start the archive stage of one task in this process: settings, health server, worker."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import structlog

from inferstream.errors import FatalStageError
from inferstream.observability import configure_logging
from inferstream.settings import KafkaSettings, ObjectStoreSettings, WorkerSettings
from inferstream.settings.archive import ArchiveSettings
from inferstream.storage import ObjectStore
from inferstream.topology import group_id
from inferstream.workers.archive.driver import STAGE, ArchiveWorker
from inferstream.workers.runtime.health import HealthState, serve

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
    archive = ArchiveWorker(task, store, ArchiveSettings.load(), kafka, group, health)
    health.ready_check = archive.ready

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping: the open files stay uncommitted", signal=signal.Signals(signum).name)
        archive.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        archive.run()
    except FatalStageError as err:
        log.error("stage stopped", reason=str(err))
        code = 2
    except Exception:
        log.exception("stage crashed (nothing past the failure was committed)")
        code = 1
    finally:
        server.shutdown()
    if not kafka.leave_group_on_close:
        # Skip the consumer's close (and its LeaveGroup) on brokers where it is unsafe.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise SystemExit(code)
