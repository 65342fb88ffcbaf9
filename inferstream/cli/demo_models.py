"""Before `inferstream demo` starts anything: the reference model bundles it serves.

The demo runs target_risk, anomaly and churn after bug_report, and their infer workers need a
trained bundle in the models dir. Without one a worker exits at start and the demo could only
say "worker exited before it was ready" with the reason in a log file. So the demo checks
first, trains what is missing (seconds each, from the project's own generators), and when it
cannot train (no scikit-learn/skl2onnx: the `dev` extra) says so in one line.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import typer
from rich.console import Console

from inferstream.cli.models_cmd import default_models_dir
from inferstream.models.media import BUNDLE_NAME as MEDIA_BUNDLE
from inferstream.models.tabular import BundleNotBuiltError, load_tabular_bundle
from inferstream.tasks.anomaly.inferer import BUNDLE_NAME as ANOMALY_BUNDLE
from inferstream.tasks.churn.inferer import BUNDLE_NAME as CHURN_BUNDLE
from inferstream.tasks.target_risk.risk import BUNDLE_NAME as TARGET_RISK_BUNDLE

console = Console(soft_wrap=True)
# task -> the bundle its infer worker loads (the names the inferers themselves use).
BUNDLES = {
    "target_risk": TARGET_RISK_BUNDLE,
    "anomaly": ANOMALY_BUNDLE,
    "churn": CHURN_BUNDLE,
    "media": MEDIA_BUNDLE,
}


def missing_bundles(models_dir: Path, tasks: tuple[str, ...]) -> list[str]:
    """Tasks whose bundle is absent or damaged (a worker would refuse it the same way)."""
    missing: list[str] = []
    for task in tasks:
        try:
            load_tabular_bundle(models_dir, BUNDLES[task], task)
        except BundleNotBuiltError:
            missing.append(task)
    return missing


def ensure_reference_models(tasks: tuple[str, ...], models_dir: Path | None = None) -> None:
    """Train the missing bundles, or end the command with one line saying what to run."""
    target = models_dir or default_models_dir()
    missing = missing_bundles(target, tasks)
    if not missing:
        return
    try:
        from inferstream.training.registry import TRAINERS  # training deps: the dev extra
    except ModuleNotFoundError as err:
        console.print(
            f"[bold red]error:[/] reference models not trained for {', '.join(missing)} and "
            f"training needs the dev extra ({err.name}): run `make models` first",
            highlight=False,
        )
        raise typer.Exit(1) from None
    for task in missing:
        console.print(f"training the missing reference model of {task} into {target}")
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn/skl2onnx deprecation chatter
            report = TRAINERS[task](target)
        console.print(
            f"  {report.name}/{report.version} in {time.monotonic() - started:.1f}s",
            highlight=False,
        )
