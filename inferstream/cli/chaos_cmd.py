"""`inferstream chaos`: the fault-injection run (see inferstream/chaos)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inferstream.chaos import ChaosConfig, ChaosResult, ChaosRun

console = Console(soft_wrap=True)


def chaos_cmd(
    submissions: Annotated[int, typer.Option(help="Valid submissions to publish.")] = 5000,
    kills: Annotated[int, typer.Option(help="Worker SIGKILLs (each restarted).")] = 10,
    pg_outage: Annotated[float, typer.Option(help="Seconds Postgres is stopped (0: none).")] = 20.0,
    s3_outage: Annotated[float, typer.Option(help="Seconds S3 is stopped (0: none).")] = 20.0,
    poison: Annotated[int, typer.Option(help="Records that make the model raise.")] = 3,
    storm: Annotated[float, typer.Option(help="Seconds of join/leave every 2 s (0: none).")] = 30.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault schedule.")] = 0,
    publish_s: Annotated[float, typer.Option(help="Seconds over which to publish.")] = 60.0,
    examples: Annotated[Path, typer.Option(help="Bug reports to draw payloads from.")] = Path(
        "examples/bug_reports.jsonl"
    ),
) -> None:
    """Run a workload through a fresh embedded stack under faults, then verify it."""
    config = ChaosConfig(
        submissions=submissions,
        kills=kills,
        pg_outage_s=pg_outage,
        s3_outage_s=s3_outage,
        poison=poison,
        storm_s=storm,
        seed=seed,
        publish_s=publish_s,
    )
    with tempfile.TemporaryDirectory(prefix="inferstream-chaos-") as tmp:
        run = ChaosRun(
            config, Path(tmp), examples, lambda line: console.print(line, highlight=False)
        )
        console.print("schedule:")
        for fault in run.faults:
            console.print(f"  {fault.describe()}", highlight=False)
        result = run.run()
    print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def print_result(result: ChaosResult) -> None:
    table = Table(title="inferstream chaos")
    table.add_column("figure")
    table.add_column("value", justify="right")
    v = result.report.violations
    table.add_row("submissions (valid)", str(result.submissions))
    table.add_row("rows", str(result.rows))
    table.add_row("lost", str(len(v.get("lost (valid submission without a row)", []))))
    table.add_row("duplicated", str(len(v.get("duplicated (more than one row)", []))))
    table.add_row("dead letters", str(result.report.counts.get("dead letters", 0)))
    table.add_row("poison records dead-lettered", str(result.poison_dead))
    table.add_row("worker restarts", str(result.restarts))
    table.add_row("drained", "yes" if result.drained else "NO")
    table.add_row("elapsed", f"{result.elapsed_s:.0f} s")
    for fault in result.faults:
        recovery = "-" if fault.recovered_after_s is None else f"{fault.recovered_after_s:.1f} s"
        table.add_row(f"recovery after {fault.describe().strip()}", recovery)
    console.print(table)
    for name, items in v.items():
        if items:
            console.print(f"[red]{name}:[/] {', '.join(items[:10])}", highlight=False)
    console.print(
        "[green]verify: all invariants hold[/]" if result.ok else "[red]chaos run FAILED[/]"
    )


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos_cmd)
