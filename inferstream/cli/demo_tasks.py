"""`inferstream demo`, part two: the target_risk, anomaly, churn and media tasks, one after another.

Per task: start its enrich/infer/sink workers, publish ``examples/<task>.jsonl`` (invalid lines
raw, bypassing client validation), wait until every valid submission has a row or a dead
letter, and print a summary with the task's own measures against the generator's labels.
The reference bundles must exist: `inferstream demo` trains the missing ones first (demo_models).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from inferstream.client import Publisher, parse_records
from inferstream.schemas import Envelope, make_headers
from inferstream.settings import KafkaSettings, PostgresSettings, data_dir
from inferstream.topology import topic_name
from inferstream.workers.supervisor import Supervisor

console = Console(soft_wrap=True)
TASKS = ("target_risk", "anomaly", "churn", "media")
WAIT_S = 600.0


@dataclass
class TaskDemo:
    task: str
    envelopes: list[Envelope[Any]]
    invalid_lines: dict[int, bytes]
    labels: dict[str, Any]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ids(self) -> list[str]:
        return [e.submission_id for e in self.envelopes]

    @property
    def table(self) -> str:
        return f"results_{self.task}"

    def invalid_key(self, line: int) -> str:
        return f"demo-{self.task}-invalid-line-{line}"


def load_task(task: str, examples: Path) -> TaskDemo:
    file = examples / f"{task}.jsonl"
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file (run the demo from the repository root)")
    lines = file.read_bytes().splitlines()
    parsed = parse_records(
        (x.decode(errors="replace") for x in lines), task, "jsonl", source="demo"
    )
    labels_file = examples / f"{task}.labels.json"
    labels = orjson.loads(labels_file.read_bytes()) if labels_file.is_file() else {}
    return TaskDemo(
        task,
        [envelope for _, envelope in parsed.valid],
        {n: lines[n - 1] for n in parsed.invalid_lines},
        labels,
    )


def publish_task(kafka: KafkaSettings, demo: TaskDemo) -> None:
    with Publisher(demo.task, kafka, source="demo") as publisher:
        for envelope in demo.envelopes:
            publisher.send(envelope)
    producer = Producer(kafka.producer_config())
    for number, raw in demo.invalid_lines.items():
        headers: list[tuple[str, str | bytes]] = list(make_headers(1))
        producer.produce(
            topic_name("submissions", demo.task),
            raw,
            demo.invalid_key(number).encode(),
            headers=headers,
        )
    producer.flush(30)


def accounted(postgres: PostgresSettings, demo: TaskDemo) -> tuple[int, int, int]:
    """(result rows, dead-lettered valid submissions, dead-lettered invalid lines)."""
    invalid = [demo.invalid_key(n) for n in demo.invalid_lines]
    with psycopg.connect(postgres.conninfo()) as conn:
        rows = conn.execute(
            f"SELECT count(DISTINCT submission_id) FROM {demo.table} WHERE submission_id = ANY(%s)",
            (demo.ids,),
        ).fetchone()
        dead = conn.execute(
            "SELECT count(DISTINCT submission_id) FILTER (WHERE submission_id = ANY(%s)), "
            "count(DISTINCT submission_id) FILTER (WHERE submission_id = ANY(%s)) "
            "FROM dead_letters WHERE task = %s",
            (demo.ids, invalid, demo.task),
        ).fetchone()
    dead_valid, dead_invalid = (int(dead[0]), int(dead[1])) if dead else (0, 0)
    return (int(rows[0]) if rows else 0), dead_valid, dead_invalid


def wait_for(demo: TaskDemo, postgres: PostgresSettings, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + WAIT_S
    with console.status(f"{demo.task}: waiting for results") as status:
        while True:
            rows, dead_valid, dead_invalid = accounted(postgres, demo)
            status.update(f"{demo.task}: {rows} rows, {dead_valid + dead_invalid} dead letters")
            if rows + dead_valid >= len(demo.ids) and dead_invalid >= len(demo.invalid_lines):
                return
            if supervisor.failed():
                raise RuntimeError(f"a worker exited: {supervisor.failed()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {rows}/{len(demo.ids)} results after {WAIT_S:.0f}s")
            time.sleep(0.5)


# A second demo on the same data dir publishes the same submission ids: their rows are already
# there (not rewritten), so this run has no latency to show (it printed "nan s").
NO_NEW_ROWS = "- (rows of an earlier run)"


def latency_cell(values: list[float], q: float) -> str:
    """The q-quantile of this run's latencies, or NO_NEW_ROWS where it wrote no row."""
    if not values:
        return NO_NEW_ROWS
    ordered = sorted(values)
    return f"{ordered[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]:.2f} s"


def throughput_cell(new_rows: int, elapsed_s: float) -> str:
    if not new_rows:
        return NO_NEW_ROWS
    return f"{new_rows / max(elapsed_s, 1e-9):.1f} submissions/s"


def _measures_target_risk(conn: psycopg.Connection[Any], demo: TaskDemo) -> list[tuple[str, str]]:
    levels = dict(
        conn.execute(
            "SELECT risk_level, count(*) FROM results_target_risk WHERE submission_id = ANY(%s) "
            "GROUP BY 1",
            (demo.ids,),
        ).fetchall()
    )
    top = conn.execute(
        "SELECT round(avg(risk_score)::numeric, 2), round(max(risk_score)::numeric, 2) "
        "FROM results_target_risk WHERE submission_id = ANY(%s)",
        (demo.ids,),
    ).fetchone()
    shown = " / ".join(str(levels.get(k, 0)) for k in ("low", "medium", "high", "critical"))
    return [
        ("risk level low / medium / high / critical", shown),
        ("risk score mean / max", f"{top[0]} / {top[1]}" if top else "-"),
    ]


def _measures_anomaly(conn: psycopg.Connection[Any], demo: TaskDemo) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT submission_id, is_anomaly, detector FROM results_anomaly "
        "WHERE submission_id = ANY(%s)",
        (demo.ids,),
    ).fetchall()
    flagged = {str(r[0]) for r in rows if r[1]}
    injected = set(demo.labels.get("injected", []))
    detectors = Counter(str(r[2]) for r in rows if r[1])
    hit = len(flagged & injected)
    series = len({e.payload.series_id for e in demo.envelopes})
    return [
        ("series", str(series)),
        ("flagged anomalous (by detector)", f"{len(flagged)} {dict(detectors)}"),
        ("injected anomalies found", f"{hit}/{len(injected)}"),
    ]


def _measures_churn(conn: psycopg.Connection[Any], demo: TaskDemo) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT submission_id, label, probability FROM results_churn WHERE submission_id = ANY(%s)",
        (demo.ids,),
    ).fetchall()
    churned = set(demo.labels.get("churned", []))
    correct = sum(1 for sid, label, _ in rows if bool(label) == (str(sid) in churned))
    predicted = sum(1 for _, label, _ in rows if label)
    return [
        ("predicted churn / generator's churners", f"{predicted} / {len(churned)}"),
        ("accuracy against the generator's labels", f"{correct / max(1, len(rows)):.3f}"),
    ]


MEASURES: dict[str, Callable[[psycopg.Connection[Any], TaskDemo], list[tuple[str, str]]]] = {
    "target_risk": _measures_target_risk,
    "anomaly": _measures_anomaly,
    "churn": _measures_churn,
}


def summarise_task(postgres: PostgresSettings, demo: TaskDemo, elapsed_s: float) -> bool:
    with psycopg.connect(postgres.conninfo()) as conn:
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT submission_id), "
            f"max(model_name || ' ' || model_version) FROM {demo.table} "
            "WHERE submission_id = ANY(%s)",
            (demo.ids,),
        ).fetchone()
        latencies = [
            float(r[0])
            for r in conn.execute(
                f"SELECT extract(epoch FROM created_at - submitted_at) FROM {demo.table} "
                "WHERE submission_id = ANY(%s) AND created_at >= %s AND submitted_at IS NOT NULL",
                (demo.ids, demo.started_at),
            )
        ]
        dead = conn.execute(
            "SELECT stage, split_part(reason, ':', 1), count(*) FROM dead_letters "
            "WHERE task = %s AND (submission_id = ANY(%s) OR submission_id LIKE %s) "
            "GROUP BY 1, 2 ORDER BY 3 DESC",
            (demo.task, demo.ids, f"demo-{demo.task}-invalid-line-%"),
        ).fetchall()
        if demo.task == "media":
            from inferstream.cli.demo_media import measures_media

            measures = measures_media(conn, demo)
        else:
            measures = MEASURES[demo.task](conn, demo)
    total, distinct, model = counts if counts else (0, 0, None)
    _, dead_valid, _ = accounted(postgres, demo)
    table = Table(title=f"inferstream demo: {demo.task}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("model", str(model))
    table.add_row("valid submissions published", str(len(demo.ids)))
    table.add_row("invalid lines sent raw", str(len(demo.invalid_lines)))
    table.add_row("result rows (distinct submissions)", f"{total} ({distinct})")
    for stage, reason, count in dead:
        table.add_row(f"dead letters: {stage}: {reason}"[:90], str(count))
    for name, value in measures:
        table.add_row(name, value)
    for label, q in (("p50", 0.50), ("p95", 0.95)):
        table.add_row(f"end-to-end latency {label}", latency_cell(latencies, q))
    table.add_row("throughput (this run)", throughput_cell(len(latencies), elapsed_s))
    console.print(table)
    ok = int(total) == int(distinct) == len(demo.ids) - dead_valid
    verdict = "[green]exactly once:[/]" if ok else "[red]NOT exactly once:[/]"
    console.print(
        f"{verdict} {demo.task}: {len(demo.ids)} submissions, {total} rows, "
        f"{dead_valid} rejected by enrich",
        highlight=False,
    )
    return ok


def _load(task: str, examples: Path) -> TaskDemo:
    if task == "media":  # claim-check: files uploaded first, references published
        from inferstream.cli.demo_media import load_media

        return load_media(examples)
    return load_task(task, examples)


def run_task(task: str, examples: Path) -> bool:
    if task == "media":
        if not (examples / "media" / "labels.json").is_file():
            raise FileNotFoundError(f"{examples / 'media'}: no media examples")
    else:
        load_task(task, examples)  # a missing or unreadable file fails before any worker starts
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    supervisor = Supervisor(task, 1, log_dir=data_dir() / "logs")
    supervisor.start()
    try:
        with console.status(f"{task}: starting the workers"):
            supervisor.wait_ready()
        # Parsed now: the envelopes' produced_at (the latency's start) is publishing time.
        demo = _load(task, examples)
        demo.started_at = datetime.now(UTC)
        started = time.monotonic()
        publish_task(kafka, demo)
        wait_for(demo, postgres, supervisor)
        return summarise_task(postgres, demo, time.monotonic() - started)
    except (RuntimeError, TimeoutError) as err:
        console.print(f"[red]demo failed ({task}):[/] {err}; see {data_dir() / 'logs'}")
        return False
    finally:
        supervisor.stop()


def run_task_demos(examples: Path = Path("examples"), tasks: tuple[str, ...] = TASKS) -> bool:
    """Every task in turn; True only if each has exactly one row per accepted submission."""
    results = [run_task(task, examples) for task in tasks]
    return all(results)
