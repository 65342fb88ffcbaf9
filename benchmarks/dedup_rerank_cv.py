"""The text re-ranker against the shipped rows, cross-validated on the development set only.

    python benchmarks/dedup_rerank_cv.py [--reports examples/bug_reports.jsonl]
        [--labels examples/bug_reports.labels.json] [--folds 5]
        [--score-once REPORTS LABELS]

Embeds the reports as `inferstream eval dedup` does (MiniLM, one at a time), replays them
through the hybrid profile in arrival order, and prints the pooled held-out figures of every
row on the same folds: the calibrated rows `eval dedup` prints (hybrid, cosine-fit, learned,
learned+signatures), the re-ranker over the top candidates with all its features, and the
re-ranker with each feature group left out (a constant column: no weight can use it). Every
choice is made on these figures only.

``--score-once`` then fits the re-ranker on the whole development set and scores another set
with it (the frozen held-out set, at the end, once), beside the shipped hybrid profile.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from inferstream.cli.eval_cmd import embed, load_reports
from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.dedup import ReportFeatures
from inferstream.tasks.bug_report.dedup import calibration as cal
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.dedup import rerank as rr
from inferstream.tasks.bug_report.dedup.learned import cross_validate_signals
from inferstream.tasks.bug_report.dedup.profiles import HYBRID, SEED
from inferstream.tasks.bug_report.dedup.report import fitters

# Feature columns of rerank.pair_row, by group.
GROUPS = {
    "field overlap": (4, 5, 6, 7, 8),
    "signatures": (9, 10, 11),
    "rank and gap": (12, 13),
    "cosine x product": (14,),
}


def _line(name: str, folds: Sequence[ev.Figures]) -> str:
    f = sum(folds, ev.Figures(0, 0, 0, 0, 0))
    return (
        f"  {name:<34} P {f.precision:.3f}  R {f.recall:.3f}  F1 {f.f1:.3f}"
        f"  (tp {f.tp} fp {f.fp} fn {f.fn})"
    )


def _without(columns: Sequence[int]) -> Callable[..., list[float]]:
    full = rr.pair_row

    def row(*args: object) -> list[float]:
        values = full(*args)  # type: ignore[arg-type]
        for c in columns:
            values[c] = 0.0
        return values

    return row


def _texts(
    reports: Sequence[tuple[str, BugReportPayload]], features: Sequence[ReportFeatures]
) -> dict[str, rr.ReportText]:
    return {
        sid: rr.ReportText.of(
            {
                "title": p.title,
                "description": p.description,
                "steps": p.steps_to_reproduce,
                "logs": p.logs,
            },
            f.signature,
        )
        for (sid, p), f in zip(reports, features, strict=True)
    }


@dataclass(frozen=True)
class Loaded:
    features: list[ReportFeatures]
    replay: ev.Replay  # the hybrid profile's, in file order
    labels: ev.Labels
    texts: dict[str, rr.ReportText]


def _load(reports_path: Path, labels_path: Path) -> Loaded:
    reports, invalid = load_reports(reports_path)
    labels = ev.parse_labels(orjson.loads(labels_path.read_bytes()), [s for s, _ in reports])
    features, _ = embed(reports)
    print(f"{reports_path}: {len(reports)} reports ({invalid} invalid lines)")
    return Loaded(features, ev.replay(features, HYBRID), labels, _texts(reports, features))


def score_once(dev: Loaded, other: Loaded) -> None:
    """Fit on all of the development set, score the other set: hybrid beside the re-ranker."""
    order = dev.replay.order
    truth_dev = ev.earlier_members(order, dev.labels)
    model = rr.fit_rerank(dev.replay.candidates, truth_dev, order, dev.texts)
    replay = other.replay
    truth = ev.earlier_members(replay.order, other.labels)
    decided = {
        sid: model.decide(replay.candidates[sid], other.texts[sid], other.texts)
        for sid in replay.order
    }
    print(_line("hybrid (shipped profile)", [ev.figures(replay.decisions, truth, replay.order)]))
    print(_line("rerank (fitted on all dev)", [ev.figures(decided, truth, replay.order)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=Path, default=Path("examples/bug_reports.jsonl"))
    parser.add_argument("--labels", type=Path, default=Path("examples/bug_reports.labels.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--score-once", nargs=2, type=Path, metavar=("REPORTS", "LABELS"))
    args = parser.parse_args()
    dev = _load(args.reports, args.labels)
    main_replay, labels, texts = dev.replay, dev.labels, dev.texts
    seed = ev.replay(dev.features, SEED)
    print(f"{args.folds} folds, pooled held-out figures:")
    cv = cal.cross_validate(main_replay, seed, labels, fitters(HYBRID), args.folds)
    for name in cv.rows:
        print(_line(name, [fold.held_out[name] for fold in cv.folds]))
    signatures = {f.submission_id: f.signature for f in dev.features}
    signals = cross_validate_signals(main_replay, labels, signatures, args.folds)
    print(_line("learned+signatures", signals))
    print(_line("rerank", rr.cross_validate_rerank(main_replay, labels, texts, args.folds)))
    full = rr.pair_row
    for group, columns in GROUPS.items():
        rr.pair_row = _without(columns)  # type: ignore[assignment]
        try:
            folds = rr.cross_validate_rerank(main_replay, labels, texts, args.folds)
        finally:
            rr.pair_row = full  # type: ignore[assignment]
        print(_line(f"rerank without {group}", folds))
    if args.score_once:
        score_once(dev, _load(*args.score_once))


if __name__ == "__main__":
    main()
