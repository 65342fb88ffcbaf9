"""`inferstream up / down / status`: the embedded stack as one unit, recorded in the data dir.

The data dir holds each server's data and log, ``stack.json`` (pids and ports, for down/status;
after `down` the ports alone, which the next `up` reuses where free),
``stack.toml`` (the resolved settings every later command reads) and the generated S3 keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from inferstream import free_space
from inferstream.settings import STACK_FILE
from inferstream.stack.processes import StackError, is_alive, port_is_free, wait_until
from inferstream.stack.servers import (
    BROKER_STORAGES,
    TANSU_BUCKET,
    TansuInfo,
    ensure_bucket,
    pg_pid_from_datadir,
    postgres_healthy,
    seaweed_healthy,
    start_postgres,
    start_seaweed,
    start_tansu,
    stop_postgres,
    stop_seaweed,
    stop_tansu,
    tansu_healthy,
)
from inferstream.stack.settings import BrokerStorage, env_broker_storage
from inferstream.stack.state import (
    BUCKET,
    CREDENTIALS_FILE,
    STATE_FILE,
    StackState,
    credentials,
    write_private,
)

__all__ = [
    "CREDENTIALS_FILE",
    "STATE_FILE",
    "STORAGE_FILE",
    "ComponentStatus",
    "StackState",
    "check_free_space",
    "down",
    "resolved_settings",
    "restart_broker",
    "status",
    "up",
]

# The broker's storage engine this data dir used last. Kept by `down`: the next `up` keeps the
# engine, and knows when a change of engine left the sinks' stored offsets pointing into another
# broker's topics.
STORAGE_FILE = "broker-storage"


# Every produce, commit and data-bearing fetch costs Tansu's s3:// engine a few S3 requests of
# 1-4 ms of SeaweedFS CPU each (a PUT per partition for the batch, its watermark and the
# producer sequences; a LIST of the partition's history per fetch that finds data), whatever the
# number of records in it. So under backlog the embedded stack's workers take up to 512 records
# a batch, not 64 (then 256: docs/benchmarks.md, "The broker path: batch size"). At 256, `bench
# overhead --set count_requests=true` at N = 20,000 counted 0.047 S3 requests per record, half
# of them the results topic's (each infer batch: 3 PUTs, then a LIST and GET by each of its
# three readers); 512 halves the produce requests of enriched and results and the reads of
# their objects. The cost cap (tokens for text) follows the item cap, 32,768 (at 8,192 infer's
# batches had closed on it at ~130 bug reports of ~60 tokens, and every stage after it paid its
# per-batch costs twice as often: "The data path's fifth pass"), and max_in_flight (the polled
# records queued before the partitions pause, resumed at half) holds four batches, 2,048: at
# 1,024 every batch taken would swing the queue between the two marks, and a pause drops
# librdkafka's prefetch, which the next fetch reads again. A model call does not grow with
# it: [worker] model_call_max_tokens (8,192) caps a call's padded tokens, and infer splits a
# batch into calls of its length buckets. At low load batches still close when the stage is
# idle, so a record's latency then is unchanged. A larger batch does
# change which earlier reports infer's `similar` lists can name (a report's batch-mates are
# not in the index yet), as every batch size does; the duplicate decisions are the same.
# Tansu's s3 engine numbers a produce's records (watermark.json) before it stores their batch,
# and a fetch returns the stored batches at or after the fetch offset: with two producers on a
# partition a consumer can be handed a later batch before an earlier one is stored, and would
# never read the earlier one. The stage workers wait for it (workers/runtime/gaps.py); a hole
# a kill -9 left between the two writes is stepped over after the wait.
EMBEDDED_WORKER: dict[str, Any] = {
    "batch_max_items": 512,
    "batch_max_cost": 32_768,
    "max_in_flight": 2_048,
    "model_call_max_tokens": 8_192,
    "offset_gap_wait_ms": 5_000,
}


def resolved_settings(state: StackState) -> dict[str, dict[str, Any]]:
    """The [component] tables every later command reads from stack.toml."""
    if not (state.tansu and state.postgres and state.seaweed):
        raise StackError("the embedded stack is not fully started")
    return {
        "kafka": {
            "bootstrap_servers": state.tansu.bootstrap,
            "security_protocol": "PLAINTEXT",
            # Tansu joins groups slowly with librdkafka defaults (docs/architecture.md).
            "session_timeout_ms": 6000,
            # Tansu on s3:// writes the group's object to S3 on every heartbeat: at 500 ms the
            # heartbeats of five idle consumers were two thirds of SeaweedFS's idle CPU, at 1000
            # ms still 2.7 PUTs a second per group, the largest idle request count, and a fifth
            # of all requests per record in `bench overhead` (docs/benchmarks.md, "The broker's
            # S3 requests per record"). 2000 ms keeps three per session timeout (Kafka's rule);
            # a rebalance is noticed <= 2 s.
            "heartbeat_interval_ms": 2000,
            "max_poll_interval_ms": 60000,
            # Tansu's s3 engine stores each produced batch as one object and every reader GETs it
            # whole (results: the sink and the archive), and both servers' CPU per request grows
            # with its bytes. zstd shrinks the JSON records 2.6x (a version 1 result, mostly its
            # embedding as text: 6.8 -> 2.6 kB; version 2's base64 value: 3.8 -> 2.2 kB), lz4 1.6x:
            # `bench overhead` at N = 20,000, Tansu + SeaweedFS 0.55-0.60 -> 0.32-0.42 ms per record
            # with zstd (unsigned bodies included, stack/tansu.py), 0.41-0.43 with lz4; the workers'
            # compression costs ~0.05 ms of it back (lz4: no lower in total).
            "compression": "zstd",
            # One produce batch per partition holds up to 4 MB (librdkafka's batch.size, 1 MB
            # by default; Tansu takes larger requests). Each batch is an object every reader
            # LISTs and GETs, and the stage runner fills a batch from one input partition
            # (workers/runtime/inqueue.py), so infer's 256 results (~6.4 kB each as version 1,
            # 1.6 MB; ~3.8 kB as version 2, ~1 MB) go to one partition: at 1 MB they were split
            # into two objects, at 4 MB one (its 512 now: ~1.9 MB, one object). With
            # both, `bench overhead --set count_requests=true` at N = 20,000: the broker's S3
            # requests 0.092 -> 0.059 per record, results.<task>'s 907 -> 490
            # (docs/benchmarks.md, the sixth pass).
            "producer_batch_bytes": 4_000_000,
            # Tansu re-reads a fetch that finds no data only at 0, W/2, 3W/4, ... of the wait
            # (Kafka answers as soon as data arrives; docs/architecture.md): at librdkafka's
            # 500 ms each of the three hops added ~200 ms at low load. At 20 ms, fetches on s3://
            # storage starve (the wait ends before Tansu has read the partition) and idle
            # consumers cost Tansu 0.10-0.18 of a core; 100 ms measured
            # lower latency (p99 at half load 1.9 s vs 5.8 s, loaded 2-core VM) and 0.05 of a
            # core idle (docs/benchmarks.md, "2 partitions, coalesced flushes, fetch wait").
            "fetch_wait_max_ms": 100,
            # Consumers nothing waits on (archive, webhooks, infer's result followers) hold
            # their fetches for a second: fewer idle S3 requests (docs/benchmarks.md, "Idle").
            "background_fetch_wait_max_ms": 1000,
            # Tansu: a LeaveGroup during a rebalance leaves a ghost member that blocks the group.
            "leave_group_on_close": False,
        },
        "postgres": {
            "host": state.postgres.socket_dir,
            "port": state.postgres.port,
            "user": state.postgres.user,
            "database": "inferstream",
            # A unix socket owned by this data dir: TLS does not apply.
            "sslmode": "disable",
        },
        "object_store": {
            "endpoint": state.seaweed.endpoint,
            "secure": False,
            "access_key": state.seaweed.access_key,
            "secret_key": state.seaweed.secret_key,
            "bucket": state.seaweed.bucket,
        },
        "topology": {"environment": "embedded"},
        "worker": EMBEDDED_WORKER,
    }


def up(data_dir: Path, broker_storage: BrokerStorage | None = None) -> StackState:
    """Start whatever is not running, wait for health, write stack.json and stack.toml.

    Order matters: SeaweedFS first (Tansu's s3 engine needs its bucket before it starts), then
    PostgreSQL, then Tansu. ``broker_storage`` None: $INFERSTREAM_STACK_BROKER_STORAGE, else the
    engine this data dir used last, else s3. Refuses (StackError) on a nearly full disk."""
    check_free_space(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    storage = choose_storage(data_dir, broker_storage)
    state = StackState.load(data_dir)
    with _stop_on_failure(state):
        restarted_s3 = False
        if not (state.seaweed and seaweed_healthy(state.seaweed)):
            if state.seaweed:
                stop_seaweed(state.seaweed.pid)
            previous = state.ports().get("s3")
            state.seaweed = start_seaweed(
                data_dir, **credentials(data_dir), bucket=BUCKET, s3_port=previous
            )
            _note_move(state, "S3 (SeaweedFS)", previous, state.seaweed.s3_port)
            restarted_s3 = True
            state.save()
        if not (state.postgres and postgres_healthy(state.postgres)):
            state.postgres = start_postgres(data_dir)
            state.save()
        running = state.tansu and tansu_healthy(state.tansu)
        # A broker on s3 storage follows its S3 server: a new one may listen elsewhere.
        stale = state.tansu and (state.tansu.storage != storage or restarted_s3)
        if not running or stale:
            _start_broker(state, storage)
    write_private(data_dir / STACK_FILE, tomli_w.dumps(resolved_settings(state)).encode())
    return state


def check_free_space(data_dir: Path) -> free_space.FreeSpace:
    """The data dir's filesystem against the free-space marks: a StackError below the refusal
    mark (before anything starts: running servers are left alone), else the reading (its level
    "low" is for the caller to warn about)."""
    reading = free_space.check(data_dir)
    if reading.level == "too low":
        raise StackError(reading.refusal())
    return reading


def choose_storage(data_dir: Path, explicit: BrokerStorage | None = None) -> BrokerStorage:
    """The broker's engine: explicit, else the environment, else what this data dir used last,
    else s3 (durable: what a first `up` gets)."""
    chosen = explicit or env_broker_storage() or recorded_storage(data_dir) or "s3"
    if chosen not in BROKER_STORAGES:
        raise StackError(f"broker storage {chosen!r}: expected one of {', '.join(BROKER_STORAGES)}")
    return chosen


def recorded_storage(data_dir: Path) -> BrokerStorage | None:
    try:
        text = (data_dir / STORAGE_FILE).read_text().strip()
    except OSError:
        return None
    return "s3" if text == "s3" else "memory" if text == "memory" else None


def _start_broker(state: StackState, storage: BrokerStorage) -> TansuInfo:
    """(Re)start Tansu for this state: same port when free (the running one's, else the one
    recorded before `down`), bucket made first for s3."""
    data_dir = state.data_dir
    port = state.ports().get("kafka")
    if state.tansu:
        # SIGKILL is safe on s3 storage: an acknowledged produce is already in the bucket, and
        # start_tansu repairs what a produce cut short leaves (stack/tansu_repair.py).
        stop_tansu(state.tansu.pid)
    s3 = state.seaweed if storage == "s3" else None
    if s3 is not None:
        ensure_bucket(s3, TANSU_BUCKET)
    state.tansu = start_tansu(data_dir, port, s3=s3)
    _note_move(state, "Kafka (Tansu)", port, state.tansu.port)
    state.fresh_broker = storage == "memory" or recorded_storage(data_dir) != storage
    (data_dir / STORAGE_FILE).write_text(storage + "\n")
    state.save()
    return state.tansu


def restart_broker(data_dir: Path, timeout_s: float = 30.0) -> TansuInfo:
    """(Re)start the broker of a running stack on the SAME port with the SAME storage (for
    fault injection: after a kill -9 of Tansu, clients reconnect to the address they hold).

    Stops a live Tansu first (SIGKILL after a short grace), waits up to ``timeout_s`` for the
    port to be free, starts Tansu, waits for health and records the new pid in stack.json. On
    s3 storage every acknowledged record and committed group offset is still there (start_tansu
    first repairs the sequences of a produce the kill cut short, so its retry is stored); on
    memory storage the topics are empty and the sinks' stored offsets point past their ends (only
    ``inferstream up`` forgets those: fault injection should run on s3)."""
    state = StackState.load(data_dir)
    if state.tansu is None or state.seaweed is None:
        raise StackError(f"no embedded stack is recorded in {data_dir}: run `inferstream up`")
    port = state.tansu.port
    stop_tansu(state.tansu.pid)
    if not wait_until(lambda: port_is_free(port), timeout_s, 0.1):
        raise StackError(f"the broker's port {port} is still taken after {timeout_s:.0f}s")
    storage: BrokerStorage = "s3" if state.tansu.storage == "s3" else "memory"
    info = _start_broker(state, storage)
    if info.port != port:
        raise StackError(f"the broker came back on port {info.port}, not {port}")
    return info


def _note_move(state: StackState, server: str, previous: int | None, port: int) -> None:
    """A server that could not have its recorded port back (taken meanwhile) listens on a new
    one; clients started before hold the old address, so the caller says so."""
    if previous and port != previous:
        state.moved.append(f"{server} port {previous} was taken, now {port}")


@contextlib.contextmanager
def _stop_on_failure(state: StackState) -> Iterator[None]:
    try:
        yield
    except BaseException:
        down(state.data_dir)
        raise


def down(data_dir: Path) -> list[str]:
    """Stop every server of this data dir (data is kept); return what was stopped.

    stack.json keeps the servers' ports and nothing else (no pids of stopped servers): the next
    `up` starts them on the same ports where free, so that workers started before this `down`
    reconnect to the addresses they hold."""
    state = StackState.load(data_dir)
    stopped: list[str] = []
    errors: list[str] = []
    # (name, stop, pid, the process name is_alive expects)
    stops: list[tuple[str, Callable[[int | None], None], int | None, str]] = [
        ("tansu", stop_tansu, state.tansu.pid if state.tansu else None, "tansu"),
        ("postgres", stop_postgres, pg_pid_from_datadir(data_dir), "postgres"),
        ("seaweedfs", stop_seaweed, state.seaweed.pid if state.seaweed else None, "weed"),
    ]
    for name, stop, pid, process_name in stops:
        running = is_alive(pid, process_name)  # only what was running is reported stopped
        try:
            stop(pid)
            if running:
                stopped.append(name)
        except StackError as err:
            errors.append(f"{name}: {err}")
    ports = state.ports()
    if ports:
        StackState(data_dir, recorded_ports=ports).save()
    else:
        (data_dir / STATE_FILE).unlink(missing_ok=True)
    (data_dir / STACK_FILE).unlink(missing_ok=True)
    if errors:
        raise StackError("; ".join(errors))
    return stopped


@dataclass
class ComponentStatus:
    name: str
    pid: int | None
    endpoint: str
    healthy: bool


def status(data_dir: Path) -> list[ComponentStatus]:
    state = StackState.load(data_dir)
    return [
        ComponentStatus(
            f"kafka (tansu, {state.tansu.storage} storage)" if state.tansu else "kafka (tansu)",
            state.tansu.pid if state.tansu else None,
            state.tansu.bootstrap if state.tansu else "-",
            bool(state.tansu and tansu_healthy(state.tansu)),
        ),
        ComponentStatus(
            "postgres (pgserver)",
            state.postgres.pid if state.postgres else None,
            f"{state.postgres.socket_dir}:{state.postgres.port}" if state.postgres else "-",
            bool(state.postgres and postgres_healthy(state.postgres)),
        ),
        ComponentStatus(
            "s3 (seaweedfs)",
            state.seaweed.pid if state.seaweed else None,
            f"http://{state.seaweed.endpoint}/{state.seaweed.bucket}" if state.seaweed else "-",
            bool(state.seaweed and seaweed_healthy(state.seaweed)),
        ),
    ]
