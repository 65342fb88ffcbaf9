"""`inferstream dlq purge`: delete dead letters past their retention (they keep the rejected
records' original bytes). Shows what it would delete; deletes only after --yes or a typed
confirmation; --dry-run never deletes."""

from __future__ import annotations

from typing import Annotated

import click
import psycopg
import typer
from rich.console import Console

from inferstream.settings import DeadLetterSettings, PostgresSettings
from inferstream.storage.dead_letters import ExpiredGroup, cutoff_for, expired, purge

console = Console(soft_wrap=True)
dlq_app = typer.Typer(help="Dead letters: retention and purge.", no_args_is_help=True)


def _describe(groups: list[ExpiredGroup]) -> tuple[int, int]:
    """Print one line per task and stage; return the total rows and payload bytes."""
    for group in groups:
        console.print(
            f"{group.task or '-':<14} {group.stage:<10} {group.rows:>9} rows "
            f"{group.payload_bytes:>12} payload bytes  oldest {group.oldest:%Y-%m-%d %H:%M}",
            highlight=False,
        )
    return sum(g.rows for g in groups), sum(g.payload_bytes for g in groups)


@dlq_app.command("purge")
def purge_cmd(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            "--older-than-days",
            min=1,
            help="Delete dead letters older than this (default: INFERSTREAM_DLQ_RETENTION_DAYS).",
        ),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Only this task's.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (cron jobs).")
    ] = False,
) -> None:
    """Delete dead letters older than the retention, in batches of the oldest rows."""
    settings = DeadLetterSettings.load()
    days = older_than_days or settings.retention_days
    conninfo = PostgresSettings.load().conninfo()
    try:
        with psycopg.connect(conninfo) as conn:
            cutoff = cutoff_for(conn, days)
            groups = expired(conn, cutoff, task)
    except psycopg.errors.UndefinedTable as err:
        typer.echo(
            f"error: {err.diag.message_primary}: run `inferstream db migrate` first", err=True
        )
        raise typer.Exit(2) from None
    when = f"older than {days} days (before {cutoff:%Y-%m-%d %H:%M:%S %Z})"
    if not groups:
        console.print(f"no dead letters {when}", highlight=False)
        return
    rows, payload = _describe(groups)
    summary = f"{rows} dead letters ({payload} payload bytes) {when}"
    if dry_run:
        console.print(f"dry run: would delete {summary}; nothing deleted", highlight=False)
        return
    if not yes and not _confirmed(f"Delete {summary}?"):
        console.print("nothing deleted", highlight=False)
        raise typer.Exit(1)
    deleted = purge(conninfo, cutoff, task, settings.purge_batch_rows)
    console.print(f"deleted {deleted} dead letters {when}", highlight=False)


def _confirmed(question: str) -> bool:
    """A typed yes; no terminal and no answer (a script without --yes) is a usage error."""
    try:
        return click.confirm(question, default=False)
    except click.exceptions.Abort:
        typer.echo("error: no confirmation: pass --yes to purge without asking", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
