"""`inferstream settings doc`: write docs/configuration.md from the settings models."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import inferstream.tasks
from inferstream.settings import ComponentSettings
from inferstream.settings.doc import DOC_PATH, component_classes, render, undocumented

console = Console(soft_wrap=True)
settings_app = typer.Typer(
    help="The settings models and their documentation.", no_args_is_help=True
)


def all_settings() -> list[type[ComponentSettings]]:
    """Every component's settings model, task plug-ins' included (they define them in a
    ``settings`` module of their package, imported here so their subclasses exist)."""
    for module in pkgutil.walk_packages(inferstream.tasks.__path__, "inferstream.tasks."):
        if module.name.rsplit(".", 1)[-1] == "settings":
            importlib.import_module(module.name)
    return component_classes()


def configuration_doc() -> str:
    return render(all_settings())


@settings_app.command("doc")
def doc_cmd(
    check: Annotated[
        bool, typer.Option("--check", help="Only check; exit 1 when the file is stale.")
    ] = False,
    path: Annotated[Path, typer.Option("--path", help="Where the page lives.")] = DOC_PATH,
) -> None:
    """Write docs/configuration.md from the settings models (or check that it is current)."""
    classes = all_settings()
    missing = undocumented(classes)
    if missing:
        # A field without a description would give an empty row: say which, fix the model.
        console.print(f"settings without a description: {', '.join(missing)}", highlight=False)
        raise typer.Exit(2)
    text = render(classes)
    if check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != text:
            console.print(f"{path} is stale: run `inferstream settings doc`", highlight=False)
            raise typer.Exit(1)
        console.print(f"{path} is current", highlight=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")
