"""`inferstream up / down / status / demo`: the embedded stack."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from inferstream import free_space, stack
from inferstream.cli.ops import report_outcomes, topology_apply
from inferstream.cli.signals import exit_on_sigterm
from inferstream.free_space import FreeSpace, size
from inferstream.settings import KafkaSettings, PostgresSettings, data_dir
from inferstream.stack.manager import check_free_space, resolved_settings
from inferstream.stack.servers import BROKER_STORAGES
from inferstream.stack.settings import BrokerStorage
from inferstream.storage import migrate
from inferstream.storage import offsets as offset_store

console = Console(soft_wrap=True)
DEMO_FILE = Path("examples/bug_reports.jsonl")


def _warn(message: str) -> None:
    """One warning line on stderr (bring_up's: the disk nearly full, a server's port moved)."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold yellow]warning:[/] {message}", highlight=False
    )


def bring_up(broker_storage: BrokerStorage | None = None) -> dict[str, dict[str, Any]]:
    """Start the stack, migrate Postgres, apply the topology; return the resolved settings."""
    root = data_dir()
    started = time.monotonic()
    disk = check_free_space(root)  # too low: a StackError, nothing started
    if disk.level == "low":
        _warn(disk.warning())
    state = stack.up(root, broker_storage)
    if state.moved:
        _warn(
            f"{'; '.join(state.moved)}: workers started before this `up` hold the old address "
            "and must be restarted"
        )
    resolved = resolved_settings(state)
    # Explicit settings: the embedded servers, whatever INFERSTREAM_* variables say.
    kafka = KafkaSettings.load(**resolved["kafka"])
    postgres = PostgresSettings.load(**resolved["postgres"])
    for name in migrate(postgres.conninfo()):
        console.print(f"applied migration {name}", highlight=False)
    if state.fresh_broker:
        forget_broker_offsets(postgres)
    _, outcomes = topology_apply(kafka, "embedded")
    report_outcomes([o for o in outcomes if not o.ok], "embedded")
    created = sum(1 for o in outcomes if o.ok and o.action.describe().startswith("+"))
    if created:
        console.print(f"created {created} topics")
    _print_status(root, explain_disk=False)  # a low disk was warned about above
    console.print(
        f"ready in {time.monotonic() - started:.1f}s; settings in {root / 'stack.toml'}",
        highlight=False,
    )
    return resolved


def forget_broker_offsets(postgres: PostgresSettings) -> None:
    """A broker started without the previous one's records (the memory engine, or a change of
    engine) numbers its offsets from 0 again, so offsets stored by sinks for the previous broker
    would skip new records. Forget them. (On s3 storage topics and offsets survive: kept.)"""
    with psycopg.connect(postgres.conninfo()) as conn:
        dropped = offset_store.forget(conn)
    if dropped:
        console.print(
            f"new broker without the previous one's records: forgot {dropped} sink offsets",
            highlight=False,
        )


def _print_status(root: Path, *, explain_disk: bool = True) -> bool:
    """The servers and the data dir's disk (a line saying why when it is low, unless the caller
    has said it); False when a server is down or the disk is below the mark `up` refuses at."""
    table = Table(title=f"inferstream embedded stack ({root})")
    for column in ("component", "pid", "endpoint", "state"):
        # A long path or endpoint wraps in its cell rather than being cut with an ellipsis.
        table.add_column(column, overflow="fold")
    healthy = True
    for row in stack.status(root):
        healthy = healthy and row.healthy
        state = "[green]healthy[/]" if row.healthy else "[red]down[/]"
        table.add_row(row.name, str(row.pid or "-"), row.endpoint, state)
    disk = free_space.check(root)
    table.add_row("disk (data dir)", "-", str(disk.path), disk_state(disk))
    console.print(table)
    if disk.level != "ok" and explain_disk:
        console.print(
            disk.refusal() if disk.level == "too low" else disk.warning(), highlight=False
        )
    return healthy and disk.level != "too low"


def disk_state(disk: FreeSpace) -> str:
    """The status table's cell: the free space, coloured by its level."""
    usage = disk.usage
    figures = f"{size(usage.free)} free ({usage.percent_free:.1f} %)"
    colour = {"ok": "green", "low": "yellow", "too low": "red"}[disk.level]
    return f"[{colour}]{disk.level}: {figures}[/]"


def up_cmd(
    broker_storage: Annotated[
        str | None,
        typer.Option(
            help="Broker storage engine: s3 (durable, on the embedded SeaweedFS) or memory "
            "(lost on every broker restart). Default: $INFERSTREAM_STACK_BROKER_STORAGE, else "
            "what this data dir used last, else s3.",
        ),
    ] = None,
) -> None:
    """Start Tansu, PostgreSQL+pgvector and SeaweedFS S3; migrate; create the topics."""
    if broker_storage is not None and broker_storage not in BROKER_STORAGES:
        Console(stderr=True).print(
            f"[bold red]error:[/] --broker-storage {broker_storage}: expected "
            f"{' or '.join(BROKER_STORAGES)}",
            highlight=False,
        )
        raise typer.Exit(2)
    bring_up(cast(BrokerStorage | None, broker_storage))


def down_cmd() -> None:
    """Stop the embedded servers (their data stays in the data dir)."""
    where = data_dir()
    stopped = stack.down(where)
    if stopped:
        console.print(f"stopped: {', '.join(stopped)}")
    else:
        console.print(f"nothing was running (data dir {where})", highlight=False)


def status_cmd() -> None:
    """Show the embedded servers and whether each answers; exit 1 if any does not."""
    if not _print_status(data_dir()):
        raise typer.Exit(1)


def demo_cmd(
    file: Annotated[Path, typer.Option(help="Bug reports to publish.")] = DEMO_FILE,
) -> None:
    """Stack up, every stage running, the example reports through, and a summary."""
    # SIGTERM (a CI job cancelled, `kill`) unwinds like Ctrl-C, through the finally blocks that
    # stop each task's workers: without it the demo died at once and left its four worker
    # processes running, orphaned.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file (run the demo from the repository root)")
    # Imported here: the bundle names come from the task and media model modules (ONNX Runtime,
    # PIL), and the demo's publishing and waiting from the client (MinIO's client among them):
    # `up` and `down`, which every test stack runs, would load them for nothing.
    from inferstream.cli.demo import count_rows, load_input, publish, summarise, wait_for_results
    from inferstream.cli.demo_models import ensure_reference_models
    from inferstream.cli.demo_tasks import TASKS, run_task_demos
    from inferstream.workers.supervisor import Supervisor

    ensure_reference_models(TASKS)  # before anything starts: a worker without its bundle exits
    bring_up()
    load_input(file)  # a missing or unreadable file fails before any worker starts
    supervisor = Supervisor("bug_report", 1, log_dir=data_dir() / "logs")
    supervisor.start()
    try:
        with console.status("starting the workers (the first start builds the ONNX model)"):
            try:
                supervisor.wait_ready()
            except (RuntimeError, TimeoutError) as err:
                console.print(f"[red]demo failed:[/] {err}; see {data_dir() / 'logs'}")
                raise typer.Exit(1) from None
        # Parsed now, as run_task does: each envelope's submitted time (the latency's start) is
        # publishing time. Parsed before the workers started, the latency counted their start
        # (p50 ~14 s for 567 reports that took ~4 s).
        demo = load_input(file)
        already = count_rows(PostgresSettings.load(), demo.valid_ids)
        demo.started_at = datetime.now(UTC)
        started = time.monotonic()
        publish(KafkaSettings.load(), demo)
        console.print(
            f"published {len(demo.valid_ids)} reports and {len(demo.invalid_lines)} invalid lines",
            highlight=False,
        )
        wait_for_results(PostgresSettings.load(), demo.valid_ids, supervisor)
        elapsed = time.monotonic() - started
        _wait_for_dead_letters(len(demo.invalid_lines))
        ok = summarise(PostgresSettings.load(), demo, elapsed, already)
    finally:
        supervisor.stop()
    # The other tasks, one after another (their examples live beside the bug reports).
    ok = run_task_demos(file.parent) and ok
    console.print(
        "The stack keeps running: `inferstream subscribe <task> --from-beginning` prints "
        "the results, `inferstream down` stops it.",
        highlight=False,
    )
    if not ok:
        raise typer.Exit(1)


def _wait_for_dead_letters(expected: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
            row = conn.execute(
                "SELECT count(*) FROM dead_letters WHERE submission_id LIKE 'demo-invalid-line-%'"
            ).fetchone()
        if row and int(row[0]) >= expected:
            return
        time.sleep(0.5)


def register(app: typer.Typer) -> None:
    app.command("up")(up_cmd)
    app.command("down")(down_cmd)
    app.command("status")(status_cmd)
    app.command("demo")(demo_cmd)
