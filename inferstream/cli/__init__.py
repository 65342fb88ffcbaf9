"""The one CLI (typer). User mistakes end in a one-line error and an exit code, no traceback.

Each command's module is imported only when that command runs: the modules between them load
MinIO's client, pyarrow, psycopg, the API's settings, rich's Markdown... (about a second of
imports), and every worker process and CLI subprocess would otherwise pay for all of them.
``inferstream --help`` (or a command not in COMMANDS) registers every module."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from inferstream.settings import CONFIG_ENV, DATA_DIR_ENV

# The modules under inferstream.cli with a register(app), in the order help lists them.
MODULES = (
    "stack_cmds",
    "pubsub",
    "ops",
    "workers_cmds",
    "verify_cmd",
    "chaos_cmd",
    "api_cmds",
    "models_cmd",
    "eval_cmd",
    "bench_cmd",
    "settings_cmd",
    "dlq_cmd",
    "db_roles_cmd",
)
# Top-level command -> the modules that register it (`db grant-api` joins ops' `db` group).
# tests/unit/cli/test_lazy_commands.py checks this against the app with every module.
COMMANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("up", "down", "status", "demo"), ("stack_cmds",)),
    **dict.fromkeys(("publish", "subscribe"), ("pubsub",)),
    **dict.fromkeys(("topology", "schemas"), ("ops",)),
    "db": ("ops", "db_roles_cmd"),
    "worker": ("workers_cmds",),
    "verify": ("verify_cmd",),
    "chaos": ("chaos_cmd",),
    **dict.fromkeys(("api", "keys"), ("api_cmds",)),
    "models": ("models_cmd",),
    "eval": ("eval_cmd",),
    "bench": ("bench_cmd",),
    "settings": ("settings_cmd",),
    "dlq": ("dlq_cmd",),
}
# The global options that take a value (skipped when looking for the command's name).
VALUE_OPTIONS = ("--config", "--data-dir", "--log-level")

# Errors that describe a user-fixable situation: print the message, not a traceback. Named by
# module, so that none is imported for this: an error of a module never imported cannot occur.
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("inferstream.settings.base", "SettingsError"),
    ("inferstream.stack.processes", "StackError"),
    ("inferstream.topology.admin", "TopologyError"),
    ("inferstream.storage.migrator", "MigrationError"),
    ("inferstream.storage.objectstore", "ObjectStoreError"),
    ("inferstream.schemas.registry", "UnknownTaskError"),
    ("inferstream.client.publisher", "PublishError"),
    ("psycopg", "OperationalError"),
    ("builtins", "FileNotFoundError"),
    ("builtins", "IsADirectoryError"),
    ("builtins", "PermissionError"),
)


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
    from inferstream.observability import configure_logging

    if config is not None:
        os.environ[CONFIG_ENV] = str(config)
    if data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(data_dir)
    configure_logging(log_level)


def build_app(modules: Sequence[str] = MODULES) -> typer.Typer:
    """The CLI with the commands of ``modules`` (each an inferstream.cli module name)."""
    built = typer.Typer(
        name="inferstream",
        help="Event-driven streaming workers for ML inference.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    built.callback()(_global)
    for name in sorted(modules, key=MODULES.index):
        importlib.import_module(f"inferstream.cli.{name}").register(built)
    return built


def command_name(args: Sequence[str]) -> str | None:
    """The top-level command named in ``args`` (after the global options), if any."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def user_errors() -> tuple[type[BaseException], ...]:
    """USER_ERRORS' classes, of the modules this process has imported."""
    found = (getattr(sys.modules.get(module), name, None) for module, name in USER_ERRORS)
    return tuple(cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseException))


def __getattr__(name: str) -> typer.Typer:
    # `from inferstream.cli import app`: the app with every command (tests, CliRunner).
    if name == "app":
        return build_app()
    raise AttributeError(name)


def main() -> None:
    command = command_name(sys.argv[1:])
    modules = COMMANDS.get(command or "", MODULES)
    try:
        build_app(modules)()
    except Exception as err:
        if not isinstance(err, user_errors()):
            raise
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
