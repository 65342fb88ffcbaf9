"""`inferstream models train <task>|all`: build the reference bundles into the models dir.

The bundles are trained here from the project's own dataset generators (never downloaded);
the held-out metrics are printed and recorded in each bundle's metadata.json.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from inferstream.settings import WorkerSettings, data_dir

console = Console(soft_wrap=True)
models_app = typer.Typer(help="Model bundles and the model registry.", no_args_is_help=True)


def default_models_dir() -> Path:
    return WorkerSettings.load().models_dir or data_dir() / "models"


def _flatten(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", json.dumps(value)))
    return rows


# The trainers need the dev extra, so their names are spelt here; a test keeps them equal.
TRAINED = "anomaly, churn, media, target_risk"


@models_app.command("train")
def train_cmd(
    task: Annotated[str, typer.Argument(help=f"{TRAINED}, or all")],
    models_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the bundles (default: the workers' models dir)."),
    ] = None,
) -> None:
    """Train a task's reference model, export it to ONNX and write the bundle."""
    try:
        from inferstream.training.registry import TRAINERS  # training deps: the dev extra
    except ModuleNotFoundError as err:
        raise typer.BadParameter(
            f"training needs scikit-learn and skl2onnx ({err}); install `.[dev]`"
        ) from None
    names = sorted(TRAINERS) if task == "all" else [task]
    unknown = [n for n in names if n not in TRAINERS]
    if unknown:
        raise typer.BadParameter(
            f"no reference model for {unknown[0]!r}; one of {', '.join(sorted(TRAINERS))} or all",
            param_hint="TASK",
        )
    target = models_dir or default_models_dir()
    for name in names:
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn/skl2onnx deprecation chatter
            report = TRAINERS[name](target)
        console.print(
            f"[bold]{name}[/]: {report.name}/{report.version} in {report.directory} "
            f"({time.monotonic() - started:.1f}s); held-out metrics:",
            highlight=False,
        )
        for key, value in _flatten(report.metrics):
            console.print(f"  {key} = {value}", highlight=False)


def register(app: typer.Typer) -> None:
    from inferstream.cli.models_registry_cmd import add_commands

    add_commands(models_app)  # register, list, promote, rollback, pin, diff
    app.add_typer(models_app, name="models")
