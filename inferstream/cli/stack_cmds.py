"""`inferstream up / down / status / demo`: the embedded stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from inferstream import stack
from inferstream.cli.ops import report_outcomes, topology_apply
from inferstream.cli.pubsub import publish_file
from inferstream.settings import KafkaSettings, PostgresSettings, data_dir
from inferstream.stack.manager import resolved_settings
from inferstream.storage import migrate

console = Console(soft_wrap=True)
DEMO_FILE = Path("examples/bug_reports.jsonl")


def bring_up() -> dict[str, dict[str, Any]]:
    """Start the stack, migrate Postgres, apply the topology; return the resolved settings."""
    root = data_dir()
    started = time.monotonic()
    state = stack.up(root)
    resolved = resolved_settings(state)
    # Explicit settings: the embedded servers, whatever INFERSTREAM_* variables say.
    kafka = KafkaSettings.load(**resolved["kafka"])
    postgres = PostgresSettings.load(**resolved["postgres"])
    for name in migrate(postgres.conninfo()):
        console.print(f"applied migration {name}", highlight=False)
    _, outcomes = topology_apply(kafka, "embedded")
    report_outcomes([o for o in outcomes if not o.ok], "embedded")
    created = sum(1 for o in outcomes if o.ok and o.action.describe().startswith("+"))
    if created:
        console.print(f"created {created} topics")
    _print_status(root)
    console.print(
        f"ready in {time.monotonic() - started:.1f}s; settings in {root / 'stack.toml'}",
        highlight=False,
    )
    return resolved


def _print_status(root: Path) -> bool:
    table = Table(title=f"inferstream embedded stack ({root})")
    for column in ("component", "pid", "endpoint", "state"):
        table.add_column(column)
    healthy = True
    for row in stack.status(root):
        healthy = healthy and row.healthy
        state = "[green]healthy[/]" if row.healthy else "[red]down[/]"
        table.add_row(row.name, str(row.pid or "-"), row.endpoint, state)
    console.print(table)
    return healthy


def up_cmd() -> None:
    """Start Tansu, PostgreSQL+pgvector and SeaweedFS S3; migrate; create the topics."""
    bring_up()


def down_cmd() -> None:
    """Stop the embedded servers (their data stays in the data dir)."""
    stopped = stack.down(data_dir())
    console.print(f"stopped: {', '.join(stopped)}")


def status_cmd() -> None:
    """Show the embedded servers and whether each answers; exit 1 if any does not."""
    if not _print_status(data_dir()):
        raise typer.Exit(1)


def demo_cmd(
    file: Annotated[Path, typer.Option(help="Bug reports to publish.")] = DEMO_FILE,
) -> None:
    """Bring the stack up and publish the sample bug reports (invalid lines are skipped)."""
    bring_up()
    publish_file("bug_report", str(file), fmt=None, skip_invalid=True, source="demo")
    console.print(
        "Next: `inferstream subscribe bug_report --from-beginning` prints results as they "
        "arrive; `inferstream down` stops the stack.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("up")(up_cmd)
    app.command("down")(down_cmd)
    app.command("status")(status_cmd)
    app.command("demo")(demo_cmd)
