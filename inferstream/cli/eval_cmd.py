"""`inferstream eval dedup FILE --labels LABELS`: duplicate detection measured on a labelled set.

Thin I/O around inferstream.tasks.bug_report.dedup.evaluation: read the file and labels, embed each
report on its own (as the infer stage does when reports arrive one by one), replay them in
file order through the infer stage's scorer, print the figures, write the PR curve.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
import typer

from inferstream.client import parse_records
from inferstream.models import TextEmbedder, ensure_minilm_bundle
from inferstream.schemas import BugReportPayload
from inferstream.settings import WorkerSettings, data_dir
from inferstream.tasks.bug_report.dedup import (
    DEFAULT_PROFILE,
    HYBRID,
    SEED,
    DedupProfile,
    ReportFeatures,
    UnknownProfileError,
    get_profile,
)
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.quality import canonical_text

eval_app = typer.Typer(help="Offline evaluations on labelled data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


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


def _row(label: str, f: ev.Figures) -> str:
    return (
        f"{label:<28} P {f.precision:.3f}  R {f.recall:.3f}  F1 {f.f1:.3f}  "
        f"link {f.link_accuracy:.3f}  (tp {f.tp} fp {f.fp} fn {f.fn} tn {f.tn})"
    )


def report_lines(
    features: list[ReportFeatures],
    labels: ev.Labels,
    profile: DedupProfile,
    folds: int,
) -> tuple[list[str], dict[str, list[tuple[float, float, float]]]]:
    """The printed report and the PR curves (profile, seed) of a replay."""
    main = ev.replay(features, profile)
    seed = main if profile == SEED else ev.replay(features, SEED)
    truth = ev.earlier_members(main.order, labels)
    positives = sum(1 for sid in main.order if truth[sid])
    lines = [
        f"reports {len(main.order)}, duplicate groups {len(labels.duplicate_groups)}, "
        f"reports that are duplicates of an earlier one {positives}, "
        f"near-miss pairs {len(labels.near_miss_pairs)}",
        "",
        f"profile {profile.name} {profile.version} on the whole set (arrival order):",
        _row("duplicate", ev.figures(main.decisions, truth, main.order)),
        _row(
            "duplicate or possible",
            ev.figures(
                main.decisions, truth, main.order, frozenset({"duplicate", "possible_duplicate"})
            ),
        ),
    ]
    if profile != SEED:
        lines.append(
            _row(f"seed {SEED.version} beside", ev.figures(seed.decisions, truth, seed.order))
        )
    lines += _near_misses(main, labels, profile)
    best = ev.best_of(main.candidates, profile)
    lines += ["", f"threshold sweep ({profile.name} score of the best candidate >= t):"]
    for t, f in ev.sweep(best, truth):
        lines.append(_row(f"  t={t:.2f}", f))
    cost = np.asarray(main.seconds_per_record) * 1e6
    lines += [
        "",
        f"scoring cost per record ({len(cost)} records, index growing to {len(cost)}): "
        f"mean {cost.mean():.0f} us, p95 {np.percentile(cost, 95):.0f} us",
    ]
    base = profile if profile.uses_lexical else HYBRID
    features_replay = main if profile.uses_lexical else ev.replay(features, HYBRID)
    cv = ev.cross_validate(features_replay, seed, labels, base, folds)
    lines += [
        "",
        f"cross-validation, {folds} folds over duplicate groups "
        f"(weights and bands fitted on the other folds, scored on the held-out fold):",
    ]
    for fold in cv.folds:
        fitted = fold.fitted
        lines.append(
            _row(f"  fold {fold.fold} {base.name}", fold.held_out)
            + f"  [w_lex {fitted.w_lexical} w_prod {fitted.w_product}"
            + f" w_comp {fitted.w_component} dup {fitted.duplicate} possible {fitted.possible}]"
        )
        lines.append(_row(f"  fold {fold.fold} seed", fold.seed))
    lines += [
        f"  mean {base.name:<22} P {cv.mean('precision'):.3f}  R {cv.mean('recall'):.3f}  "
        f"F1 {cv.mean('f1'):.3f}",
        f"  mean {'seed':<22} P {cv.mean('precision', True):.3f}  "
        f"R {cv.mean('recall', True):.3f}  F1 {cv.mean('f1', True):.3f}",
        _row(f"  pooled {base.name}", cv.pooled),
        _row("  pooled seed", cv.pooled_seed),
    ]
    curves = {
        f"{profile.name} {profile.version}": ev.pr_curve(best, truth),
        f"seed {SEED.version} (cosine)": ev.pr_curve(ev.best_of(seed.candidates, SEED), truth),
    }
    return lines, curves


def _near_misses(replay: ev.Replay, labels: ev.Labels, profile: DedupProfile) -> list[str]:
    if not labels.near_miss_pairs:
        return []
    position = {sid: n for n, sid in enumerate(replay.order)}
    flagged = 0
    linked = 0
    for a, b in labels.near_miss_pairs:
        later, earlier = (a, b) if position[a] > position[b] else (b, a)
        status, other = replay.decisions[later]
        flagged += status != "unique"
        linked += status != "unique" and other == earlier
    return [
        f"near-miss pairs: the later report flagged (duplicate or possible) in {flagged} of "
        f"{len(labels.near_miss_pairs)}, linked to its near miss in {linked}"
    ]


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
    file: Annotated[Path, typer.Argument(help="JSONL of bug reports in arrival order.")],
    labels: Annotated[Path, typer.Option("--labels", help="Labels JSON (duplicate_groups).")],
    profile: Annotated[
        str, typer.Option("--profile", help="Dedup profile: hybrid (default) or seed.")
    ] = DEFAULT_PROFILE,
    folds: Annotated[int, typer.Option(help="Cross-validation folds (>= 2).", min=2)] = 5,
    plot: Annotated[Path, typer.Option(help="Where to write the PR-curve PNG.")] = Path(
        "dedup-pr.png"
    ),
    calibrate: Annotated[
        bool, typer.Option(help="Also print the profile fitted on the whole set.")
    ] = False,
) -> None:
    """Precision, recall, F1 and duplicate_of accuracy of a dedup profile on a labelled set."""
    try:
        chosen = get_profile(profile)
    except UnknownProfileError as err:
        raise _fail(str(err)) from None
    reports, invalid = load_reports(file)
    if not reports:
        raise _fail(f"{file}: no valid bug reports")
    try:
        parsed = ev.parse_labels(orjson.loads(labels.read_bytes()), (s for s, _ in reports))
    except orjson.JSONDecodeError as err:
        raise _fail(f"{labels}: not valid JSON: {err}") from None
    except ev.LabelsError as err:
        raise _fail(f"{labels}: {err}") from None
    features, embed_s = embed(reports)
    lines, curves = report_lines(features, parsed, chosen, folds)
    typer.echo(f"{file}: {len(reports)} valid reports, {invalid} invalid lines skipped")
    for line in lines:
        typer.echo(line)
    typer.echo(f"embedding cost per record (MiniLM-L6, one at a time): {embed_s * 1e3:.1f} ms")
    if calibrate:
        base = chosen if chosen.uses_lexical else HYBRID
        replayed = ev.replay(features, base)
        truth = ev.earlier_members(replayed.order, parsed)
        fitted = ev.fit(replayed.candidates, truth, replayed.order, base)
        typer.echo(
            f"fitted on the whole set (in-sample F1 {fitted.train_f1:.3f}): {fitted.profile}"
        )
    write_plot(curves, plot)
    typer.echo(f"PR curve written to {plot}")
