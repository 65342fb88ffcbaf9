"""The one CLI (typer). User mistakes end in a one-line error and an exit code, no traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from inferstream.cli import (
    api_cmds,
    bench_cmd,
    chaos_cmd,
    db_roles_cmd,
    dlq_cmd,
    eval_cmd,
    models_cmd,
    ops,
    pubsub,
    settings_cmd,
    stack_cmds,
    verify_cmd,
    workers_cmds,
)
from inferstream.client import PublishError
from inferstream.observability import configure_logging
from inferstream.schemas import UnknownTaskError
from inferstream.settings import CONFIG_ENV, DATA_DIR_ENV, SettingsError
from inferstream.stack import StackError
from inferstream.storage import MigrationError, ObjectStoreError
from inferstream.topology import TopologyError

app = typer.Typer(
    name="inferstream",
    help="Event-driven streaming workers for ML inference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stack_cmds.register(app)
pubsub.register(app)
ops.register(app)
workers_cmds.register(app)
verify_cmd.register(app)
chaos_cmd.register(app)
api_cmds.register(app)
models_cmd.register(app)
eval_cmd.register(app)
bench_cmd.register(app)
settings_cmd.register(app)
dlq_cmd.register(app)
db_roles_cmd.register(app)

# Errors that describe a user-fixable situation: print the message, not a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    SettingsError,
    StackError,
    TopologyError,
    MigrationError,
    ObjectStoreError,
    UnknownTaskError,
    PublishError,
    psycopg.OperationalError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
)


@app.callback()
def _global(
    config: Annotated[
        Path | None, typer.Option("--config", help=f"TOML config file (also ${CONFIG_ENV}).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help=f"Embedded stack data dir (also ${DATA_DIR_ENV})."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    if config is not None:
        os.environ[CONFIG_ENV] = str(config)
    if data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(data_dir)
    configure_logging(log_level)


def main() -> None:
    err_console = Console(stderr=True)
    try:
        app()
    except USER_ERRORS as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
