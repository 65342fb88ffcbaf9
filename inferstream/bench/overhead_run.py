"""One timed run for `inferstream bench overhead`: the whole pipeline with the null model, CPU
seconds of every process (workers, Tansu, Postgres with its backends, SeaweedFS) from /proc over
the timed window, and each worker's threads for the split inside it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from inferstream.bench import overhead_pg, pipeline, procs, proctimes, s3count, threads, workload
from inferstream.bench.harness import TABLE, BenchError, BenchStack, poll_ids
from inferstream.models.null import NULL_VERSION_SUFFIX

NULL_ENV = {"INFERSTREAM_MODEL_BACKEND": "null"}
# The archive closes a file per partition every ARCHIVE_FILE_RECORDS records, so its Parquet
# encode and PUT fall inside the window at any N: at the default 10,000 a partition closed at
# most one file in a run of 20,000, whose encode landed in the window or not from run to run.
ARCHIVE_FILE_RECORDS = 1_000
WORKER_ENV = {**NULL_ENV, "INFERSTREAM_ARCHIVE_MAX_RECORDS": str(ARCHIVE_FILE_RECORDS)}
# After the last row is in Postgres the stages behind the sink (the archive, the infer workers'
# result followers) still have work: the window closes once the workers together use less than
# IDLE_CORES over SETTLE_S, or after SETTLE_MAX_S. Workers only: the servers have a background
# of their own (Tansu on S3 storage flushes and polls all the time), measured before the
# window over IDLE_S and reported apart.
IDLE_CORES = 0.1
SETTLE_S = 0.5
SETTLE_MAX_S = 30.0
IDLE_S = 3.0


@dataclass
class OverheadRun:
    records: int
    seconds: float  # first publish to the last row in Postgres
    window_s: float  # the CPU window: ``seconds`` plus the settle time
    cpu: dict[str, float]  # CPU seconds per process over the window
    driver: float  # CPU seconds of the benchmark process itself (publisher, row polls)
    # CPU seconds of the driver's own Postgres backend (its row polls' queries): not in the
    # postgres row, which is the pipeline's Postgres alone
    driver_backend: float = 0.0
    # the postgres row by part (overhead_pg: the sink's backend, autovacuum, ...); sums to it
    pg_split: dict[str, float] = field(default_factory=dict)
    idle: dict[str, float] = field(default_factory=dict)  # cores per process with no records
    splits: dict[str, dict[str, float]] = field(default_factory=dict)  # worker -> group -> s
    # worker -> group -> seconds its threads waited for a CPU (run queue) over the window
    waits: dict[str, dict[str, float]] = field(default_factory=dict)
    batches: dict[str, procs.BatchStats] = field(default_factory=dict)  # stage -> batches
    named_threads: bool = True  # py-spy named the Python threads of every worker
    # The broker's S3 requests (bench/s3count.py), when counted: over the window, and per
    # second over the idle interval before it.
    requests: Counter[s3count.Key] | None = None
    idle_requests: dict[s3count.Key, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def total(self) -> float:
        return sum(self.cpu.values())

    def ms_per_record(self, seconds: float) -> float:
        return 1000.0 * seconds / self.records


def measure(
    stack: BenchStack,
    n: int,
    replicas: Mapping[str, int],
    timeout_s: float,
    counter: s3count.RequestCounter | None = None,
) -> OverheadRun:
    """Start the stages with the null model, warm up, time ``n`` records, stop the workers."""
    stack.forget_results()
    supervisor = stack.start_workers(replicas, WORKER_ENV)
    try:
        pipeline.warm_up(stack, timeout_s)
        workers = {name: proc.pid for name, proc in supervisor.procs.items()}
        servers = procs.server_pids(stack.data_dir)
        postmaster = servers["postgres"]
        if postmaster is None:
            raise BenchError("no Postgres postmaster in the stack")
        roots: dict[str, int | None] = {**workers, **servers}
        names = {name: threads.python_thread_names(pid) for name, pid in workers.items()}
        payloads = workload.payloads(n)  # built before the window: the generator is not timed
        stages = sorted({name.rsplit("-", 1)[0] for name in workers})
        batches_before = {s: procs.batch_stats(stack.supervisors, s) for s in stages}
        # The driver's one connection for the window, open before it and after it, so that its
        # backend is read at both ends and taken out of the postgres row (overhead_pg).
        with psycopg.connect(
            stack.conninfo(), autocommit=True, application_name=overhead_pg.DRIVER_APP
        ) as conn:
            pg = overhead_pg.PgSampler(postmaster, conn.info.backend_pid)
            idle_from = _requests(counter)
            idle = _idle(roots)
            idle_counts = _requests(counter) - idle_from
            threads_before = {name: threads.snapshot(pid) for name, pid in workers.items()}
            waits_before = {name: proctimes.thread_waits(pid) for name, pid in workers.items()}
            cpu_before = _tree(roots)
            pg.start()
            requests_before = _requests(counter)
            driver_before = proctimes.self_seconds()
            started = time.monotonic()
            ids = stack.publish(payloads, source="bench-overhead")

            def on_poll() -> None:
                stack.check_workers()
                pg.sample()

            finished = poll_ids(conn, TABLE, ids, timeout_s, 0.1, on_poll)
            cpu_after = _settle(roots, set(workers), finished, pg.sample)
            pg.stop()
            requests = _requests(counter) - requests_before
            window_end = time.monotonic()
            driver = proctimes.self_seconds() - driver_before
            threads_after = {name: threads.snapshot(pid) for name, pid in workers.items()}
            waits_after = {name: proctimes.thread_waits(pid) for name, pid in workers.items()}
            share = pg.share(_client_statements(conn))
        batches = {s: procs.batch_stats(stack.supervisors, s) - batches_before[s] for s in stages}
        stack.check_workers()
        _check_null_model(stack)
    finally:
        stack.stop_workers()
    cpu = procs.delta(cpu_after, cpu_before)
    cpu["postgres"] = share.row  # the same tree read child by child, the driver's backend out
    splits = {
        name: threads.split(pid, threads_before[name], threads_after[name], names[name], cpu[name])
        for name, pid in workers.items()
    }
    waits = {
        name: threads.waits(
            pid, waits_before[name], waits_after[name], threads_after[name], names[name]
        )
        for name, pid in workers.items()
    }
    return OverheadRun(
        records=n,
        seconds=finished - started,
        window_s=window_end - started,
        cpu=cpu,
        driver=driver,
        driver_backend=share.driver_backend,
        pg_split=share.split,
        idle=idle,
        splits=splits,
        waits=waits,
        batches=batches,
        named_threads=all(names.values()),
        requests=requests if counter is not None else None,
        idle_requests={k: v / IDLE_S for k, v in idle_counts.items()},
    )


def _requests(counter: s3count.RequestCounter | None) -> Counter[s3count.Key]:
    return counter.snapshot() if counter is not None else Counter()


def _tree(roots: Mapping[str, int | None]) -> dict[str, float]:
    return {name: proctimes.tree_seconds(pid) for name, pid in roots.items()}


def _idle(roots: Mapping[str, int | None]) -> dict[str, float]:
    """Cores each process uses with the pipeline warm and no records flowing."""
    before = _tree(roots)
    time.sleep(IDLE_S)  # the sampling interval, not a synchronisation
    return {k: v / IDLE_S for k, v in procs.delta(_tree(roots), before).items()}


def _settle(
    roots: Mapping[str, int | None],
    workers: set[str],
    since: float,
    on_reading: Callable[[], None],
) -> dict[str, float]:
    """Readings once the workers have gone (nearly) idle after the last row; ``on_reading``
    after each (the Postgres children's)."""
    last = _tree(roots)
    deadline = since + SETTLE_MAX_S
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)  # the sampling interval of the idle check, not a synchronisation
        now = _tree(roots)
        on_reading()
        busy = sum(v for k, v in procs.delta(now, last).items() if k in workers) / SETTLE_S
        last = now
        if busy < IDLE_CORES:
            break
    return last


def _client_statements(conn: psycopg.Connection[Any]) -> dict[int, str]:
    """pid -> last statement of every client backend (the sink's is told by its own)."""
    rows = conn.execute(
        "SELECT pid, coalesce(query, '') FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    ).fetchall()
    return {int(pid): str(query) for pid, query in rows}


def _check_null_model(stack: BenchStack) -> None:
    """Every row came from the null model: a worker that ignored the setting would have put
    the real model's cost into the figures."""
    with psycopg.connect(stack.conninfo()) as conn:
        row = conn.execute(
            f"SELECT count(*) FILTER (WHERE model_version NOT LIKE %s) FROM {TABLE}",
            (f"%{NULL_VERSION_SUFFIX}",),
        ).fetchone()
    real = int(row[0]) if row else 0
    if real:
        raise BenchError(f"{real} rows were not made by the null model (model_version)")
