"""The text report of ``inferstream eval dedup`` (pure): figures of a profile on a labelled
replay, the seed beside, near misses, candidate recall, the threshold sweep, the scoring cost
and the cross-validation of every fitted row (hybrid grid, cosine-only baseline, logistic, and
logistic with the error-signature evidence)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from inferstream.tasks.bug_report.dedup import calibration as cal
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.dedup.learned import cross_validate_signals, fit_logistic
from inferstream.tasks.bug_report.dedup.profiles import HYBRID, SEED, DedupProfile
from inferstream.tasks.bug_report.dedup.scoring import ReportFeatures

Curves = dict[str, list[tuple[float, float, float]]]
SIGNALS = "learned+signatures"


def row(label: str, f: ev.Figures) -> str:
    return (
        f"{label:<28} P {f.precision:.3f}  R {f.recall:.3f}  F1 {f.f1:.3f}  "
        f"link {f.link_accuracy:.3f}  (tp {f.tp} fp {f.fp} fn {f.fn} tn {f.tn})"
    )


def fitters(base: DedupProfile) -> dict[str, cal.Fitter]:
    """The rows cross-validated: each fitted on the training folds only."""
    return {
        base.name: cal.fit_hybrid(base),
        "cosine-fit": cal.fit_cosine,
        "learned": fit_logistic,
    }


def near_misses(replay: ev.Replay, labels: ev.Labels) -> list[str]:
    if not labels.near_miss_pairs:
        return []
    position = {sid: n for n, sid in enumerate(replay.order)}
    flagged = duplicates = linked = 0
    for a, b in labels.near_miss_pairs:
        later, earlier = (a, b) if position[a] > position[b] else (b, a)
        status, other = replay.decisions[later]
        flagged += status != "unique"
        duplicates += status == "duplicate"
        linked += status != "unique" and other == earlier
    return [
        f"near-miss pairs: the later report flagged (duplicate or possible) in {flagged} of "
        f"{len(labels.near_miss_pairs)}, as duplicate in {duplicates}, linked to its near miss "
        f"in {linked}"
    ]


def summary(
    replay: ev.Replay, seed: ev.Replay, labels: ev.Labels, profile: DedupProfile
) -> list[str]:
    """Figures of one profile's replay (and the seed's beside)."""
    truth = ev.earlier_members(replay.order, labels)
    lines = [
        f"profile {profile.name} {profile.version} on the whole set (arrival order):",
        row("duplicate", ev.figures(replay.decisions, truth, replay.order)),
        row(
            "duplicate or possible",
            ev.figures(
                replay.decisions,
                truth,
                replay.order,
                frozenset({"duplicate", "possible_duplicate"}),
            ),
        ),
    ]
    if profile != SEED:
        lines.append(
            row(f"seed {SEED.version} beside", ev.figures(seed.decisions, truth, seed.order))
        )
    lines += near_misses(replay, labels)
    recall = ev.candidate_recall(replay.candidates, truth, profile)
    lines.append(
        "candidate recall (an earlier member of the group in the top-k): "
        + ", ".join(f"top-{k} {v:.3f}" for k, v in recall.items())
    )
    return lines


def cross_validation(
    replay: ev.Replay,
    seed: ev.Replay,
    labels: ev.Labels,
    base: DedupProfile,
    folds: int,
    signatures: Mapping[str, frozenset[str]],
) -> list[str]:
    cv = cal.cross_validate(replay, seed, labels, fitters(base), folds)
    signals = cross_validate_signals(replay, labels, signatures, folds)
    lines = [
        f"cross-validation, {folds} folds over duplicate groups "
        "(each row fitted on the other folds, scored on the held-out fold):"
    ]
    for fold in cv.folds:
        for fitted in cv.rows:
            lines.append(
                row(f"  fold {fold.fold} {fitted}", fold.held_out[fitted])
                + _params(fold.fitted[fitted])
            )
        lines.append(row(f"  fold {fold.fold} {SIGNALS}", signals[fold.fold]))
        lines.append(row(f"  fold {fold.fold} seed", fold.seed))
    names: list[str | None] = [*cv.rows, SIGNALS, None]
    for name in names:
        label = name or "seed"
        if name == SIGNALS:
            lines.append(
                f"  mean {SIGNALS:<22} P {np.mean([f.precision for f in signals]):.3f}  "
                f"R {np.mean([f.recall for f in signals]):.3f}  "
                f"F1 {np.mean([f.f1 for f in signals]):.3f}"
            )
            continue
        lines.append(
            f"  mean {label:<22} P {cv.mean('precision', name):.3f}  "
            f"R {cv.mean('recall', name):.3f}  F1 {cv.mean('f1', name):.3f}"
        )
    for fitted in cv.rows:
        lines.append(row(f"  pooled {fitted}", cv.pooled[fitted]))
    lines.append(row(f"  pooled {SIGNALS}", sum(signals, ev.Figures(0, 0, 0, 0, 0))))
    lines.append(row("  pooled seed", cv.pooled_seed))
    return lines


def _params(p: DedupProfile) -> str:
    weights = (
        f"w_sem {p.w_semantic:.3g} w_lex {p.w_lexical:.3g} "
        f"w_prod {p.w_product:.3g} w_comp {p.w_component:.3g}"
    )
    bias = f" bias {p.bias:.3g}" if p.link == "logistic" else ""
    return f"  [{weights}{bias} dup {p.duplicate:.6f} possible {p.possible:.6f}]"


def report_lines(
    features: Sequence[ReportFeatures],
    labels: ev.Labels,
    profile: DedupProfile,
    folds: int,
) -> tuple[list[str], Curves]:
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
        *summary(main, seed, labels, profile),
    ]
    best = ev.best_of(main.candidates, profile)
    lines += ["", f"threshold sweep ({profile.name} score of the best candidate >= t):"]
    for t, f in ev.sweep(best, truth):
        lines.append(row(f"  t={t:.2f}", f))
    cost = np.asarray(main.seconds_per_record) * 1e6
    lines += [
        "",
        f"scoring cost per record ({len(cost)} records, index growing to {len(cost)}): "
        f"mean {cost.mean():.0f} us, p95 {np.percentile(cost, 95):.0f} us",
        "",
    ]
    # Fits need the lexical feature: a profile without it is cross-validated on the hybrid's
    # candidates (a superset of the cosine top-k).
    base = profile if profile.uses_lexical and profile.link == "mean" else HYBRID
    candidates_replay = main if profile.uses_lexical else ev.replay(features, HYBRID)
    signatures = {f.submission_id: f.signature for f in features}
    lines += cross_validation(candidates_replay, seed, labels, base, folds, signatures)
    curves: Curves = {
        f"{profile.name} {profile.version}": ev.pr_curve(best, truth),
        f"seed {SEED.version} (cosine)": ev.pr_curve(ev.best_of(seed.candidates, SEED), truth),
    }
    return lines, curves


def in_sample_fits(
    features: Sequence[ReportFeatures], labels: ev.Labels, base: DedupProfile
) -> Mapping[str, cal.Fit]:
    """Every row fitted on the whole set (``--calibrate``), with its in-sample F1 recomputed
    from the profile returned."""
    replayed = ev.replay(features, base)
    truth = ev.earlier_members(replayed.order, labels)
    return {
        name: cal.fit(fitter, replayed.candidates, truth, replayed.order)
        for name, fitter in fitters(base).items()
    }
