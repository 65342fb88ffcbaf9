"""`inferstream eval dedup FILE --labels LABELS`: duplicate detection measured on a labelled set.

Thin I/O around inferstream.tasks.bug_report.dedup (evaluation, report): read the file and
labels, embed each report on its own (as the infer stage does when reports arrive one by one),
replay them in file order through the infer stage's scorer, print the figures, write the PR curve.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from inferstream.cli.eval_feedback import run_from_feedback
from inferstream.client import parse_records
from inferstream.schemas import BugReportPayload
from inferstream.settings import WorkerSettings, data_dir

# The dedup package and the models load when `eval dedup` runs, not with the CLI: they bring
# faiss and ONNX Runtime into every CLI process (each worker start among them).
if TYPE_CHECKING:
    from inferstream.tasks.bug_report.dedup import ReportFeatures

eval_app = typer.Typer(help="Offline evaluations on labelled data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)  # a user mistake, like every CLI error of this kind


def load_reports(file: Path) -> tuple[list[tuple[str, BugReportPayload]], int]:
    """Valid reports in file order, and how many lines were invalid."""
    texts = (line.decode(errors="replace") for line in file.read_bytes().splitlines())
    parsed = parse_records(texts, "bug_report", "jsonl", source="eval")
    reports = []
    for _, envelope in parsed.valid:
        payload = envelope.payload
        if isinstance(payload, BugReportPayload):
            reports.append((envelope.submission_id, payload))
    return reports, len(parsed.invalid_lines)


def embed(reports: list[tuple[str, BugReportPayload]]) -> tuple[list[ReportFeatures], float]:
    """Features of each report, embedded one at a time; seconds per report."""
    from inferstream.models import TextEmbedder, ensure_minilm_bundle
    from inferstream.tasks.bug_report.dedup import evaluation as ev
    from inferstream.tasks.bug_report.quality import canonical_text

    worker = WorkerSettings.load()
    bundle = ensure_minilm_bundle(worker.models_dir or data_dir() / "models")
    embedder = TextEmbedder(bundle, max_batch_items=1)
    started = time.perf_counter()
    vectors = [embedder.embed([canonical_text(payload)])[0] for _, payload in reports]
    per_record = (time.perf_counter() - started) / max(1, len(reports))
    features = [
        ev.features(sid, payload, vector)
        for (sid, payload), vector in zip(reports, vectors, strict=True)
    ]
    return features, per_record


def write_plot(curves: dict[str, list[tuple[float, float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, points in curves.items():
        ax.plot([r for _, _, r in points], [p for _, p, _ in points], label=name)
    ax.set_xlabel("recall (is a duplicate)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title("Duplicate detection: precision / recall by threshold")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@eval_app.command("dedup")
def dedup(
    file: Annotated[
        Path | None, typer.Argument(help="JSONL of bug reports in arrival order.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Labels JSON (duplicate_groups).")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="Dedup profile: hybrid or seed (default: the task's setting, hybrid)."
        ),
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds (>= 2).", min=2)] = 5,
    plot: Annotated[Path, typer.Option(help="Where to write the PR-curve PNG.")] = Path(
        "dedup-pr.png"
    ),
    calibrate: Annotated[
        bool, typer.Option(help="Also print the profile fitted on the whole set.")
    ] = False,
    from_feedback: Annotated[
        bool,
        typer.Option(
            "--from-feedback",
            help="Instead: the model's verdicts against reviewers' decisions (feedback topic).",
        ),
    ] = False,
    labels_out: Annotated[
        Path | None,
        typer.Option(help="With --from-feedback: write the decisions as a labels file."),
    ] = None,
    reports_out: Annotated[
        Path | None,
        typer.Option(help="With --from-feedback: write the decided reports as JSON lines."),
    ] = None,
) -> None:
    """Precision, recall, F1 and duplicate_of accuracy of a dedup profile on a labelled set."""
    from inferstream.tasks.bug_report.dedup import (
        DEFAULT_PROFILE,
        HYBRID,
        UnknownProfileError,
        get_profile,
    )
    from inferstream.tasks.bug_report.dedup import evaluation as ev
    from inferstream.tasks.bug_report.dedup.report import in_sample_fits, report_lines

    if from_feedback:
        run_from_feedback(labels_out, reports_out)
        return
    if file is None or labels is None:
        typer.echo("error: give a FILE and --labels, or --from-feedback", err=True)
        raise typer.Exit(2)
    try:
        chosen = get_profile(profile or DEFAULT_PROFILE)
    except UnknownProfileError as err:
        raise _fail(str(err)) from None
    try:
        reports, invalid = load_reports(file)
    except OSError as err:  # a missing or unreadable file is the caller's to fix
        raise _fail(f"{file}: {err.strerror or err}") from None
    if not reports:
        raise _fail(f"{file}: no valid bug reports")
    try:
        parsed = ev.parse_labels(orjson.loads(labels.read_bytes()), (s for s, _ in reports))
    except orjson.JSONDecodeError as err:
        raise _fail(f"{labels}: not valid JSON: {err}") from None
    except ev.LabelsError as err:
        raise _fail(f"{labels}: {err}") from None
    # Whole groups go to one fold: with fewer groups than folds a fit sees no duplicate, or no
    # report at all (a small set from --from-feedback's files, say).
    groups = sum(1 for group in parsed.duplicate_groups if len(group) > 1)
    if groups < folds:
        raise _fail(
            f"{labels}: {groups} duplicate groups, too few for {folds}-fold cross-validation "
            "(lower --folds, at least 2, or label more groups)"
        )
    features, embed_s = embed(reports)
    lines, curves = report_lines(features, parsed, chosen, folds)
    typer.echo(f"{file}: {len(reports)} valid reports, {invalid} invalid lines skipped")
    for line in lines:
        typer.echo(line)
    typer.echo(f"embedding cost per record (MiniLM-L6, one at a time): {embed_s * 1e3:.1f} ms")
    if calibrate:
        base = chosen if chosen.uses_lexical and chosen.link == "mean" else HYBRID
        for name, fitted in in_sample_fits(features, parsed, base).items():
            typer.echo(
                f"{name} fitted on the whole set (in-sample F1 {fitted.train_f1:.3f}, "
                f"recomputed from this profile): {fitted.profile}"
            )
    write_plot(curves, plot)
    typer.echo(f"PR curve written to {plot}")
