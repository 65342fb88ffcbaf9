"""`inferstream verify --task T`: prints the invariants and exits 1 on any violation."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inferstream.cli.reach import require_kafka
from inferstream.schemas import get_task
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.verify import check
from inferstream.verify.collect import collect, stage_lag

console = Console(soft_wrap=True)
SHOWN = 10


def verify_cmd(
    task: Annotated[str, typer.Option(help="The task to verify.")] = "bug_report",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="RUN_ID",
            help="Only the submissions of this run (their envelope source).",
        ),
    ] = None,
) -> None:
    """Check nothing was lost or duplicated: topics, Postgres, S3 and the dead letters."""
    get_task(task)
    require_kafka(KafkaSettings.load())
    group_prefix = WorkerSettings.load().group_prefix
    facts = collect(task, group_prefix)
    report = check(facts, since)
    table = Table(title=f"inferstream verify: {task}")
    table.add_column("check")
    table.add_column("result", justify="right")
    for name, count in report.counts.items():
        table.add_row(name, str(count))
    for name, items in report.violations.items():
        table.add_row(name, "[green]0[/]" if not items else f"[red]{len(items)}[/]")
    lag = stage_lag(task, facts, group_prefix)
    for stage, count in lag.items():
        table.add_row(f"not yet committed by {stage} (lag)", str(count))
    console.print(table)
    for name, items in report.violations.items():
        if items:
            more = f" (+{len(items) - SHOWN} more)" if len(items) > SHOWN else ""
            console.print(f"[red]{name}:[/] {', '.join(items[:SHOWN])}{more}", highlight=False)
    note = lag_note(lag, report.ok)
    if note:
        console.print(f"[yellow]{note}[/]", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]all invariants hold[/]")


def lag_note(lag: dict[str, int], ok: bool) -> str | None:
    """Where a violation meets stages that are still behind, what it may be: records in flight
    (a submission without its row yet counts as lost) rather than a loss."""
    behind = {stage: n for stage, n in lag.items() if n}
    if ok or not behind:
        return None
    stages = ", ".join(f"{stage} {n:,}" for stage, n in behind.items())
    return (
        f"the stages are still behind ({stages} records not committed): what is in flight "
        "counts as lost or not at the end until it lands; run verify again once the lag is 0 "
        "(are the workers running?)"
    )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
