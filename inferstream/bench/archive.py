"""What one S3 PUT per result cost the sink, and what the archive stage pays
instead, in one run on one embedded stack, rounds alternating.

Contenders, the same bug_report results (384-d embeddings) in the sink's batches:
- "sink before": the removed path, reproduced here as it was: every result of a batch PUT as
  JSON under artifacts/<task>/<result_id>/result.json from 8 threads, then the Postgres
  transaction (binary COPY + statuses + offsets);
- "sink now": the Postgres transaction only;
- "archive": the same results as Parquet files of `file_records` results each, one PUT a file
  (what `inferstream worker archive` writes; Kafka reads and commits not included).
CPU per result counts this process and the stack's servers (Postgres, SeaweedFS) from /proc.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from inferstream.bench.context import BenchContext
from inferstream.bench.harness import TABLE, TASK, bench_stack
from inferstream.bench.procs import delta, server_cpu_seconds
from inferstream.bench.report import Report
from inferstream.bench.sink import synthetic_results
from inferstream.plugins import load_plugin
from inferstream.schemas import encode
from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore
from inferstream.storage import offsets as offset_store
from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import ArchiveRecord, object_key
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

TOPIC = f"results.{TASK}"


@dataclass(frozen=True)
class Config:
    results: int = 4_000
    batch: int = 64  # the sink's batch_max_items default
    rounds: int = 3
    file_records: int = 10_000  # the archive's max_records default (capped at `results`)

    @classmethod
    def tiny(cls) -> Config:
        return cls(results=48, batch=16, rounds=1, file_records=16)


@dataclass(frozen=True)
class Item:
    row: tuple[Any, ...]
    done: tuple[str, str, str, str]
    result_id: str
    body: bytes


def make_items(n: int, seed: int = 11) -> list[Item]:
    table = load_plugin(TASK).table
    return [
        Item(
            table.row(result.model_dump(), result.produced_at),
            (result.submission_id, TASK, "default", result.result_id),
            result.result_id,
            encode(result),
        )
        for result in synthetic_results(n, seed)
    ]


def _batches(items: Sequence[Item], size: int) -> list[Sequence[Item]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _sink_batch(chunk: Sequence[Item], first_offset: int) -> SinkBatch:
    offsets = {(TOPIC, 0): first_offset + len(chunk)}
    return SinkBatch([i.row for i in chunk], [i.done for i in chunk], [], offsets)


def sink_now(
    writer: PostgresSinkWriter, store: ObjectStore, items: Sequence[Item], size: int
) -> None:
    for n, chunk in enumerate(_batches(items, size)):
        writer.write(_sink_batch(chunk, n * size))


def sink_before(
    writer: PostgresSinkWriter, store: ObjectStore, items: Sequence[Item], size: int
) -> None:
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="artifacts") as pool:
        for n, chunk in enumerate(_batches(items, size)):
            futures = [
                pool.submit(
                    store.put_bytes,
                    f"artifacts/{TASK}/{i.result_id}/result.json",
                    i.body,
                    "application/json",
                )
                for i in chunk
            ]
            for future in futures:
                future.result()
            writer.write(_sink_batch(chunk, n * size))


def archive_files(store: ObjectStore, items: Sequence[Item], file_records: int) -> None:
    records = [ArchiveRecord(n, 1_000 * n, i.done[0].encode(), i.body) for n, i in enumerate(items)]
    for start in range(0, len(records), file_records):
        chunk = records[start : start + file_records]
        key = object_key(TASK, TOPIC, 0, chunk[0].offset)
        store.put_bytes(key, parquet.encode(TOPIC, 0, chunk), "application/vnd.apache.parquet")


def _reset(conninfo: str, store: ObjectStore) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLE}")
        offset_store.forget(conn, "bench.archive")
        conn.execute("CHECKPOINT")
    for prefix in (f"artifacts/{TASK}/", f"archive/{TASK}/"):
        for key in store.list_keys(prefix):
            store.delete(key)


@dataclass
class Tally:
    wall: float = 0.0
    cpu_self: float = 0.0
    cpu_servers: float = 0.0
    results: int = 0


def _measure(data_dir: Path, run: Callable[[], None], n: int, tally: Tally) -> None:
    servers, cpu, started = server_cpu_seconds(data_dir), time.process_time(), time.perf_counter()
    run()
    tally.wall += time.perf_counter() - started
    tally.cpu_self += time.process_time() - cpu
    tally.cpu_servers += sum(delta(server_cpu_seconds(data_dir), servers).values())
    tally.results += n


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("archive", "sink with vs without one S3 PUT per result; the archive instead")
    items = make_items(config.results)
    file_records = min(config.file_records, config.results)
    with bench_stack() as stack:
        store = ObjectStore(ObjectStoreSettings.load())
        plugin = load_plugin(TASK)
        writer = PostgresSinkWriter(stack.conninfo(), plugin.table, "bench.archive", TASK)
        contenders: dict[str, Callable[[], None]] = {
            "sink before: S3 PUT per result + Postgres": lambda: sink_before(
                writer, store, items, config.batch
            ),
            "sink now: Postgres only": lambda: sink_now(writer, store, items, config.batch),
            f"archive: Parquet files of {file_records:,} results, 1 PUT each": lambda: (
                archive_files(store, items, file_records)
            ),
        }
        tallies = {name: Tally() for name in contenders}
        try:
            for _ in range(config.rounds):
                for name, contender in contenders.items():  # alternating, each from empty
                    _reset(stack.conninfo(), store)
                    _measure(stack.data_dir, contender, len(items), tallies[name])
        finally:
            writer.close()
    _tables(report, config, tallies)
    return report


def _tables(report: Report, config: Config, tallies: dict[str, Tally]) -> None:
    table = report.table(
        [
            "contender",
            "results/s",
            "CPU ms/result (bench process)",
            "CPU ms/result (servers)",
            "CPU ms/result (total)",
            "x sink before (results/s)",
        ],
        title=f"{config.results:,} results x {config.rounds} rounds, batches of {config.batch}",
    )
    baseline = next(iter(tallies.values()))
    base_rate = baseline.results / baseline.wall if baseline.wall else float("nan")
    for name, t in tallies.items():
        rate = t.results / t.wall if t.wall else float("nan")
        per = 1000 / t.results if t.results else float("nan")
        table.add(
            name,
            rate,
            t.cpu_self * per,
            t.cpu_servers * per,
            (t.cpu_self + t.cpu_servers) * per,
            rate / base_rate,
        )
    report.notes.append(
        "servers = the stack's Postgres (with its backends) and SeaweedFS, from /proc; the "
        "archive row excludes Kafka (its reads and one commit per file)"
    )
