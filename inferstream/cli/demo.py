"""`inferstream demo`: the pipeline end to end on the embedded stack, with a summary.

Starts the stack and every stage, publishes the example bug reports (the invalid lines are sent
raw, bypassing client validation, to exercise the dead-letter path), waits for every result and
prints: submissions, results, dead letters by reason, duplicates found vs planted, low-quality
count, end-to-end latency percentiles and throughput. Exit 0 only if every valid submission has
exactly one result row.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import typer
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from inferstream.cli.demo_tasks import latency_cell, throughput_cell
from inferstream.client import Publisher, parse_records
from inferstream.schemas import Envelope, make_headers
from inferstream.settings import KafkaSettings, PostgresSettings, data_dir
from inferstream.workers.supervisor import Supervisor

console = Console(soft_wrap=True)
WAIT_S = 900.0


@dataclass
class DemoInput:
    envelopes: list[Envelope[Any]]
    invalid_lines: dict[int, bytes]
    labels: dict[str, Any]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def valid_ids(self) -> list[str]:
        return [envelope.submission_id for envelope in self.envelopes]


def load_input(file: Path) -> DemoInput:
    lines = file.read_bytes().splitlines()
    texts = (line.decode(errors="replace") for line in lines)
    parsed = parse_records(texts, "bug_report", "jsonl", source="demo")
    labels_file = file.with_name(file.stem + ".labels.json")
    labels = orjson.loads(labels_file.read_bytes()) if labels_file.is_file() else {}
    return DemoInput(
        envelopes=[envelope for _, envelope in parsed.valid],
        invalid_lines={n: lines[n - 1] for n in parsed.invalid_lines},
        labels=labels,
    )


def publish(kafka: KafkaSettings, demo: DemoInput) -> None:
    with Publisher("bug_report", kafka, source="demo") as publisher:
        for envelope in demo.envelopes:
            publisher.send(envelope)
    producer = Producer(kafka.producer_config())
    for number, raw in demo.invalid_lines.items():
        key = f"demo-invalid-line-{number}".encode()
        headers: list[tuple[str, str | bytes]] = list(make_headers(1))
        producer.produce("submissions.bug_report", raw, key, headers=headers)
    producer.flush(30)


def wait_for_results(postgres: PostgresSettings, ids: list[str], supervisor: Supervisor) -> None:
    deadline = time.monotonic() + WAIT_S
    with console.status("waiting for results") as status:
        while True:
            done = count_rows(postgres, ids)
            status.update(f"results: {done}/{len(ids)}")
            if done >= len(ids):
                return
            failed = supervisor.failed()
            if failed:
                raise typer.Exit(_fail(f"a worker exited: {failed}; see {data_dir() / 'logs'}"))
            if time.monotonic() > deadline:
                raise typer.Exit(_fail(f"only {done}/{len(ids)} results after {WAIT_S:.0f}s"))
            time.sleep(0.5)


def _fail(message: str) -> int:
    console.print(f"[red]demo failed:[/] {message}", highlight=False)
    return 1


def count_rows(postgres: PostgresSettings, ids: list[str]) -> int:
    with psycopg.connect(postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT submission_id) FROM results_bug_report "
            "WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchone()
    return int(row[0]) if row else 0


def dedup_quality(
    links: dict[str, str | None], groups: list[list[str]]
) -> tuple[float, float, int]:
    """Precision and recall of duplicate links against planted groups; links maps each
    submission to the earlier one it was flagged a (possible) duplicate of."""
    group_of = {sid: g for g, members in enumerate(groups) for sid in members}
    flagged = {sid: other for sid, other in links.items() if other is not None}
    correct = sum(
        1
        for sid, other in flagged.items()
        if sid in group_of and group_of.get(other) == group_of[sid]
    )
    # Every member but the first to arrive can be linked to an earlier one.
    findable = sum(max(0, len(members) - 1) for members in groups)
    precision = correct / len(flagged) if flagged else 1.0
    recall = correct / findable if findable else 1.0
    return precision, recall, len(flagged)


def summarise(postgres: PostgresSettings, demo: DemoInput, elapsed_s: float, already: int) -> bool:
    """Print the table; latency and throughput cover only rows written by this run."""
    ids = demo.valid_ids
    with psycopg.connect(postgres.conninfo()) as conn:
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT submission_id) FROM results_bug_report "
            "WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchone()
        rows = conn.execute(
            "SELECT submission_id, duplicate_status, duplicate_of, low_quality, "
            "CASE WHEN created_at >= %s THEN extract(epoch FROM created_at - submitted_at) END "
            "FROM results_bug_report "
            "WHERE submission_id = ANY(%s)",
            (demo.started_at, ids),
        ).fetchall()
        dead = conn.execute(
            "SELECT stage, split_part(reason, ':', 1), count(*) FROM dead_letters "
            "WHERE submission_id LIKE 'demo-invalid-line-%%' GROUP BY 1, 2 ORDER BY 3 DESC"
        ).fetchall()
    total, distinct = counts if counts else (0, 0)
    statuses = Counter(str(r[1]) for r in rows)
    links = {str(r[0]): (str(r[2]) if r[2] else None) for r in rows}
    latencies = sorted(float(r[4]) for r in rows if r[4] is not None)
    groups = [list(g) for g in demo.labels.get("duplicate_groups", [])]
    precision, recall, flagged = dedup_quality(links, groups)
    planted_low = len(demo.labels.get("low_quality", []))

    table = Table(title="inferstream demo: bug_report")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("valid submissions published", str(len(ids)))
    table.add_row("invalid lines sent raw", str(len(demo.invalid_lines)))
    table.add_row("result rows (distinct submissions)", f"{total} ({distinct})")
    if already:
        table.add_row("of which stored by an earlier run (not rewritten)", str(already))
    for stage, reason, count in dead:
        table.add_row(f"dead letters: {stage}: {reason}", str(count))
    table.add_row(
        "duplicate / possible / unique",
        f"{statuses['duplicate']} / {statuses['possible_duplicate']} / {statuses['unique']}",
    )
    table.add_row("planted duplicate groups", str(len(groups)))
    table.add_row(
        "duplicate links: precision / recall", f"{precision:.2f} / {recall:.2f} ({flagged} flagged)"
    )
    table.add_row("low quality (planted)", f"{sum(1 for r in rows if r[3])} ({planted_low})")
    for label, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        table.add_row(f"end-to-end latency {label}", latency_cell(latencies, q))
    table.add_row("throughput (this run)", throughput_cell(len(ids) - already, elapsed_s))
    console.print(table)
    exactly_once = bool(int(total) == int(distinct) == len(ids))
    if exactly_once:
        console.print(f"[green]exactly once:[/] {len(ids)} submissions, {total} rows")
    else:
        console.print(
            f"[red]NOT exactly once:[/] {len(ids)} submissions, {total} rows, {distinct} distinct"
        )
    return exactly_once
