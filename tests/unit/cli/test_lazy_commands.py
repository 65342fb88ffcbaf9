"""The CLI imports only the invoked command's module: the table that says which module
registers which command must match what the modules register, and a worker must not load
what only other commands use."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup

from inferstream.cli import COMMANDS, MODULES, build_app, command_name


def _commands(app: typer.Typer) -> set[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return set(group.commands)


def test_the_table_names_every_command_of_the_full_app() -> None:
    assert _commands(build_app()) == set(COMMANDS)
    assert {module for modules in COMMANDS.values() for module in modules} == set(MODULES)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_registered_by_its_modules_alone(name: str) -> None:
    assert name in _commands(build_app(COMMANDS[name]))


def test_the_db_group_keeps_its_grant_command() -> None:
    group = typer.main.get_command(build_app(COMMANDS["db"]))
    assert isinstance(group, TyperGroup)
    db = group.commands["db"]
    assert isinstance(db, TyperGroup)
    assert {"migrate", "maintain", "grant-api"} <= set(db.commands)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["worker", "infer", "--task", "churn"], "worker"),
        (["--data-dir", "/tmp/x", "--log-level", "DEBUG", "up"], "up"),
        (["--config", "up", "down"], "down"),  # a value is not a command
        (["--log-level=INFO", "verify"], "verify"),
        (["--help"], None),
        ([], None),
    ],
)
def test_command_name_skips_the_global_options(args: list[str], expected: str | None) -> None:
    assert command_name(args) == expected


def _loaded_by(*argv: str) -> tuple[str, set[str]]:
    """`python -m inferstream ARGV`'s stdout and the modules it had loaded at the end."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['inferstream', *{list(argv)!r}]\n"
        "try:\n"
        "    runpy.run_module('inferstream', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout, set(result.stderr.split())


def test_a_worker_loads_neither_the_archive_nor_the_api_nor_the_bench() -> None:
    stdout, loaded = _loaded_by("worker", "--help")
    assert "Run one stage" in stdout
    assert "inferstream.cli.workers_cmds" in loaded
    unwanted = {"pyarrow", "inferstream.verify", "inferstream.api.keys", "inferstream.bench"}
    unwanted |= {f"inferstream.cli.{m}" for m in MODULES if m != "workers_cmds"}
    assert not unwanted & loaded


def test_down_loads_neither_the_demo_nor_the_client() -> None:
    # `up` and `down` run for every test stack: the demo's imports are the demo's alone.
    stdout, loaded = _loaded_by("down", "--help")
    assert "Stop the embedded servers" in stdout
    assert "inferstream.cli.stack_cmds" in loaded
    unwanted = {"inferstream.cli.demo", "inferstream.cli.demo_tasks", "inferstream.client"}
    assert not unwanted & loaded
