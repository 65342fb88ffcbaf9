"""`inferstream chaos`: the fault-injection run (see inferstream/chaos)."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferstream.cli.signals import exit_on_sigterm

if TYPE_CHECKING:
    from inferstream.chaos import ChaosResult
    from inferstream.chaos.run import MediaOutcome

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def chaos_cmd(
    submissions: Annotated[int, typer.Option(min=1, help="Valid submissions to publish.")] = 5000,
    kills: Annotated[int, typer.Option(min=0, help="Worker SIGKILLs (each restarted).")] = 10,
    pg_outage: Annotated[float, typer.Option(min=0, help="Seconds Postgres is stopped.")] = 20.0,
    s3_outage: Annotated[float, typer.Option(min=0, help="Seconds S3 is stopped.")] = 20.0,
    poison: Annotated[int, typer.Option(min=0, help="Records that make the model raise.")] = 3,
    storm: Annotated[float, typer.Option(min=0, help="Seconds of join/leave every 2 s.")] = 30.0,
    broker_kills: Annotated[
        int, typer.Option(min=0, help="kill -9 of the broker (restarted on its port).")
    ] = 1,
    stack_restarts: Annotated[
        int, typer.Option(min=0, help="Restarts of every server (down/up) mid-run.")
    ] = 1,
    pauses: Annotated[
        int,
        typer.Option(
            min=0, help="SIGSTOP/SIGCONT freezes of 10-30 s (broker, Postgres, S3, a worker first)."
        ),
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the fault schedule.")] = 0,
    publish_s: Annotated[float, typer.Option(min=1, help="Seconds over which to publish.")] = 60.0,
    drain_timeout: Annotated[
        float, typer.Option(min=10, help="Seconds to wait for the pipeline to drain.")
    ] = 900.0,
    ready_timeout: Annotated[
        float,
        typer.Option(min=10, help="Seconds for every worker to load its model and be ready."),
    ] = 300.0,
    examples: Annotated[
        Path, typer.Option(help="JSONL of bug reports (payloads or envelopes) to draw from.")
    ] = Path("examples/bug_reports.jsonl"),
    media: Annotated[
        int,
        typer.Option(
            min=0,
            help="Media submissions (images, short videos by claim-check) alongside the reports, "
            "through their own workers, verified the same way.",
        ),
    ] = 0,
    keep: Annotated[
        Path | None,
        typer.Option(help="Run in this new directory and keep it (logs, data) for a post-mortem."),
    ] = None,
) -> None:
    """Run a workload through a fresh embedded stack under faults, then verify it."""
    # Imported here: the chaos harness (stack manager, verify, Kafka admin) would otherwise load
    # in every CLI process, each worker start among them, for a command few of them run.
    from inferstream.chaos import ChaosConfig, ChaosRun
    from inferstream.chaos.run import ChaosError
    from inferstream.chaos.workload import WorkloadError, load_examples

    try:
        reports = load_examples(examples)  # before any server starts
    except WorkloadError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        raise typer.Exit(2) from None
    config = ChaosConfig(
        submissions=submissions,
        kills=kills,
        pg_outage_s=pg_outage,
        s3_outage_s=s3_outage,
        poison=poison,
        storm_s=storm,
        seed=seed,
        publish_s=publish_s,
        drain_timeout_s=drain_timeout,
        ready_timeout_s=ready_timeout,
        broker_kills=broker_kills,
        stack_restarts=stack_restarts,
        pauses=pauses,
        media=media,
    )
    # SystemExit unwinds through ChaosRun.run's teardown as KeyboardInterrupt (SIGINT) does.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if keep is not None and keep.exists():
        err_console.print(f"[bold red]error:[/] --keep {escape(str(keep))}: already exists")
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="inferstream-chaos-") as tmp:
        run = ChaosRun(
            config, keep or Path(tmp), reports, lambda line: console.print(line, highlight=False)
        )
        console.print(
            f"workload: {len(reports.payloads)} reports ({reports.skipped} lines skipped)"
        )
        console.print("schedule:")
        for fault in run.faults:
            console.print(f"  {fault.describe()}", highlight=False)
        try:
            result = run.run()
        except (ChaosError, RuntimeError, TimeoutError) as err:  # servers already stopped
            err_console.print(f"[bold red]chaos run FAILED:[/] {escape(str(err))}", highlight=False)
            raise typer.Exit(1) from None
    print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def print_result(result: ChaosResult) -> None:
    table = Table(title="inferstream chaos")
    table.add_column("figure")
    table.add_column("value", justify="right")
    v = result.report.violations
    counts = result.report.counts
    table.add_row("submissions (valid)", str(result.submissions))
    table.add_row("acknowledged by the broker (valid + poison)", str(result.published))
    table.add_row("rows", str(result.rows))
    table.add_row("lost", str(len(v.get("lost (valid submission without a row)", []))))
    table.add_row("duplicated", str(len(v.get("duplicated (more than one row)", []))))
    for name in ("redelivered result messages (absorbed)", "rows skipped on conflict by the sink"):
        table.add_row(name, str(counts.get(name, 0)))
    table.add_row("dead letters", str(counts.get("dead letters", 0)))
    table.add_row("poison records dead-lettered", str(result.poison_dead))
    table.add_row("worker restarts", str(result.restarts))
    table.add_row("worker exits other than SIGKILL", str(len(result.unexpected_exits)))
    table.add_row("workers not stopped cleanly at the end", str(len(result.unclean_stops)))
    table.add_row("drained", "yes" if result.drained else "NO")
    table.add_row("elapsed", f"{result.elapsed_s:.0f} s")
    for done in result.executed:
        recovery = done.fault.recovered_after_s
        shown = "-" if recovery is None else f"{recovery:.1f} s"
        table.add_row(f"recovery after {done.describe().strip()}", shown)
    console.print(table)
    if result.media is not None:
        _print_media(result.media)
    for name, items in v.items():
        if items:
            console.print(f"[red]{name}:[/] {', '.join(items[:10])}", highlight=False)
    for name, code in result.unexpected_exits:
        console.print(f"[red]worker {name} exited with {code}[/]", highlight=False)
    for name, final in result.unclean_stops.items():
        console.print(
            f"[red]worker {name} exited with {final} at the final stop[/]", highlight=False
        )
    for note in result.notes:
        console.print(f"[red]{escape(note)}[/]", highlight=False)
    console.print(
        "[green]verify: all invariants hold[/]" if result.ok else "[red]chaos run FAILED[/]"
    )


def _print_media(media: MediaOutcome) -> None:
    v, counts = media.report.violations, media.report.counts
    lost = len(v.get("lost (valid submission without a row)", []))
    duplicated = len(v.get("duplicated (more than one row)", []))
    console.print(
        f"media: {media.submissions} submissions, {media.published} acknowledged, "
        f"{media.rows} rows, {lost} lost, {duplicated} duplicated, "
        f"{counts.get('redelivered result messages (absorbed)', 0)} redeliveries absorbed",
        highlight=False,
    )
    for name, items in v.items():
        if items:
            console.print(f"[red]media {name}:[/] {', '.join(items[:10])}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos_cmd)
