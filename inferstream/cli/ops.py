"""Operations commands: topology plan/apply, db migrate/maintain, schemas export."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from inferstream.cli.acls_cmd import acls_cmd
from inferstream.schemas import TASKS, export_json_schemas, stale_json_schemas
from inferstream.settings import KafkaSettings, PostgresSettings, TopologySettings
from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.storage import migrate
from inferstream.storage.vector_maintenance import maintain
from inferstream.topology import (
    CreateTopic,
    Outcome,
    Plan,
    admin_client,
    apply,
    desired_topics,
    diff,
    observe,
)

console = Console(soft_wrap=True)
topology_app = typer.Typer(help="Topics, partitions and retention as code.", no_args_is_help=True)
db_app = typer.Typer(
    help="Postgres schema migrations and vector index maintenance.", no_args_is_help=True
)
schemas_app = typer.Typer(help="JSON Schema files of the wire contract.", no_args_is_help=True)

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", help="embedded, dev or prod (default: INFERSTREAM_TOPOLOGY_ENVIRONMENT)."
    ),
]


def topology_plan(kafka: KafkaSettings, environment: str) -> Plan:
    desired = desired_topics(environment, TASKS, TopologySettings.load().partitions)
    observed = observe(admin_client(kafka), [spec.name for spec in desired])
    return diff(desired, observed)


def topology_apply(kafka: KafkaSettings, environment: str) -> tuple[Plan, list[Outcome]]:
    plan = topology_plan(kafka, environment)
    return plan, apply(admin_client(kafka), plan)


def report_outcomes(outcomes: list[Outcome], environment: str) -> bool:
    """Print each outcome; True when nothing failed that should fail the command."""
    ok = True
    for outcome in outcomes:
        line = outcome.action.describe()
        if outcome.ok:
            console.print(f"[green]done[/]    {line}", highlight=False)
            continue
        # The embedded broker does not honour every admin call (docs/architecture.md): a refused
        # config or partition change there is reported, not fatal. A failed create always is.
        fatal = environment != "embedded" or isinstance(outcome.action, CreateTopic)
        ok = ok and not fatal
        label = "[red]failed[/] " if fatal else "[yellow]refused[/]"
        console.print(f"{label} {line}: {outcome.error}", highlight=False)
    return ok


@topology_app.command("plan")
def plan_cmd(env: EnvOption = None) -> None:
    """Show what `topology apply` would change on the cluster."""
    environment = env or TopologySettings.load().environment
    plan = topology_plan(KafkaSettings.load(), environment)
    for line in plan.lines():
        console.print(line, highlight=False)


@topology_app.command("apply")
def apply_cmd(env: EnvOption = None) -> None:
    """Create missing topics and fix drift (idempotent: a second run changes nothing)."""
    environment = env or TopologySettings.load().environment
    plan, outcomes = topology_apply(KafkaSettings.load(), environment)
    if plan.is_empty:
        console.print("topology is up to date")
    if not report_outcomes(outcomes, environment):
        raise typer.Exit(1)


@db_app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending migrations (recorded in schema_migrations; safe to repeat)."""
    done = migrate(PostgresSettings.load().conninfo())
    for name in done:
        console.print(f"applied {name}", highlight=False)
    if not done:
        console.print("database schema is up to date")


@db_app.command("maintain")
def maintain_cmd(
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            min=1.0,
            help="Repeat every SECONDS until SIGTERM or Ctrl-C (a sidecar or cron job "
            "runs it without --every).",
        ),
    ] = None,
) -> None:
    """Index the vectors of closed seq ranges with HNSW, off the sink's hot path (CREATE INDEX
    CONCURRENTLY); the newest rows stay in a small open tail that queries scan exactly."""
    conninfo = PostgresSettings.load().conninfo()
    settings = VectorIndexSettings.load()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if every is not None:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        try:
            reports = maintain(conninfo, settings)
        except psycopg.errors.UndefinedTable as err:
            message = f"error: {err.diag.message_primary}: run `inferstream db migrate` first"
            typer.echo(message, err=True)
            raise typer.Exit(2) from None
        for report in reports:
            for line in report.lines():
                console.print(line, highlight=False)
        # Event.wait, not sleep: SIGTERM ends the wait at once.
        if every is None or stop.wait(every):
            return


@schemas_app.command("export")
def export_cmd(
    check: Annotated[
        bool, typer.Option("--check", help="Only check; exit 1 when the files are stale.")
    ] = False,
) -> None:
    """Write the JSON Schema files into the package (or check that they are current)."""
    if check:
        stale = stale_json_schemas()
        if stale:
            console.print(f"stale JSON Schema files: {', '.join(stale)}", highlight=False)
            raise typer.Exit(1)
        console.print("JSON Schema files are current")
        return
    for path in export_json_schemas():
        console.print(f"wrote {path}", highlight=False)


def register(app: typer.Typer) -> None:
    topology_app.command("acls")(acls_cmd)
    app.add_typer(topology_app, name="topology")
    app.add_typer(db_app, name="db")
    app.add_typer(schemas_app, name="schemas")
