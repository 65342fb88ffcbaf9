"""Neighbourhood density (hubness) evidence against the shipped rows, cross-validated on the
development set only.

    python benchmarks/dedup_density_cv.py [--reports examples/bug_reports.jsonl]
        [--labels examples/bug_reports.labels.json] [--folds 5] [--k 5]
        [--score-once REPORTS LABELS]

The idea (CSLS, Conneau et al. 2018, for hubness in embedding retrieval): a cosine of 0.7 means
more in a sparse part of the embedding space than among many similar reports. Near misses live
in dense neighbourhoods (same product and component, same vocabulary), paraphrases of a rare
bug often in sparse ones. A report's density r is the mean MiniLM cosine of its ``--k`` nearest
earlier reports (arrival order: what the live scorer's faiss top-k gives at scoring time), and a
candidate pair's CSLS cosine is 2 cos - r(report) - r(candidate). Rows, all on the same folds
as `inferstream eval dedup`'s cross-validation, fitted on 4 folds and scored on the 5th: the
calibrated rows `eval dedup` prints, then logistic regressions (``learned.logistic``, bands
fitted on the training reports' best probabilities) over the scorer's four features plus the
density columns. Every choice is made on these figures only; ``--score-once`` fits the best
density row on the whole development set and scores another set once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import orjson

from inferstream.cli.eval_cmd import embed, load_reports
from inferstream.tasks.bug_report.dedup import ReportFeatures
from inferstream.tasks.bug_report.dedup import calibration as cal
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.dedup.learned import logistic
from inferstream.tasks.bug_report.dedup.profiles import HYBRID, SEED
from inferstream.tasks.bug_report.dedup.ranked import Candidate
from inferstream.tasks.bug_report.dedup.report import fitters
from inferstream.tasks.bug_report.dedup.verdicts import band

Row = Callable[[Candidate, float, float], list[float]]


def _base(c: Candidate) -> list[float]:
    return [c.cosine, c.lexical, float(c.same_product), float(c.same_component)]


ROWS: dict[str, Row] = {
    "learned (4 features)": lambda c, rx, ry: _base(c),
    "learned + csls": lambda c, rx, ry: [*_base(c), 2 * c.cosine - rx - ry],
    "learned + r(report), r(candidate)": lambda c, rx, ry: [*_base(c), rx, ry],
    "learned, csls for cosine": lambda c, rx, ry: [2 * c.cosine - rx - ry, *_base(c)[1:]],
}


def densities(features: Sequence[ReportFeatures], order: Sequence[str], k: int) -> dict[str, float]:
    """Each report's mean cosine to its k nearest earlier reports (0.0 for the first)."""
    by_id = {f.submission_id: f.vector for f in features}
    vectors = np.stack([by_id[sid] for sid in order]).astype(np.float64)
    gram = vectors @ vectors.T
    out: dict[str, float] = {}
    for i, sid in enumerate(order):
        earlier = np.sort(gram[i, :i])[::-1][:k]
        out[sid] = float(earlier.mean()) if len(earlier) else 0.0
    return out


class DensityModel:
    def __init__(self, row: Row, r: Mapping[str, float]) -> None:
        self.row, self.r = row, r
        self.bias, self.weights = 0.0, np.zeros(0)
        self.duplicate = self.possible = 1.0

    def _x(self, sid: str, candidates: Sequence[Candidate]) -> np.ndarray:
        rx = self.r[sid]
        return np.array([self.row(c, rx, self.r.get(c.submission_id, 0.0)) for c in candidates])

    def best(self, sid: str, candidates: Sequence[Candidate]) -> tuple[float, str | None]:
        if not candidates:
            return -1.0, None
        z = self._x(sid, candidates) @ self.weights + self.bias
        i = int(np.argmax(z))
        return float(1.0 / (1.0 + np.exp(-z[i]))), candidates[i].submission_id

    def fit(self, candidates: cal.Candidates, truth: cal.Truth, ids: Sequence[str]) -> None:
        x = np.vstack([self._x(sid, candidates[sid]) for sid in ids if candidates[sid]])
        y = np.array([float(c.submission_id in truth[sid]) for sid in ids for c in candidates[sid]])
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        bias, w = logistic(x / scale, y)
        self.bias, self.weights = bias, w / scale
        best = np.array([self.best(sid, candidates[sid])[0] for sid in ids])
        actual = np.array([bool(truth[sid]) for sid in ids])
        self.duplicate = cal.best_threshold(best, actual, 1.0)
        self.possible = min(self.duplicate, cal.best_threshold(best, actual, 2.0))

    def decide(self, sid: str, candidates: Sequence[Candidate]) -> tuple[str, str | None]:
        p, other = self.best(sid, candidates)
        return band(p, other, self)


def _line(name: str, folds: Sequence[ev.Figures]) -> str:
    f = sum(folds, ev.Figures(0, 0, 0, 0, 0))
    return (
        f"  {name:<36} P {f.precision:.3f}  R {f.recall:.3f}  F1 {f.f1:.3f}"
        f"  (tp {f.tp} fp {f.fp} fn {f.fn})"
    )


def cross_validate(
    replay: ev.Replay, labels: ev.Labels, row: Row, r: Mapping[str, float], k: int
) -> list[ev.Figures]:
    truth = ev.earlier_members(replay.order, labels)
    fold_of = cal.assign_folds(replay.order, labels, k)
    out = []
    for f in range(k):
        train = [sid for sid in replay.order if fold_of[sid] != f]
        test = [sid for sid in replay.order if fold_of[sid] == f]
        model = DensityModel(row, r)
        model.fit(replay.candidates, {s: truth[s] for s in train}, train)
        decided = {sid: model.decide(sid, replay.candidates[sid]) for sid in test}
        out.append(ev.figures(decided, truth, test))
    return out


def _load(reports_path: Path, labels_path: Path) -> tuple[list[ReportFeatures], ev.Labels]:
    reports, _ = load_reports(reports_path)
    labels = ev.parse_labels(orjson.loads(labels_path.read_bytes()), [s for s, _ in reports])
    features, _ = embed(reports)
    print(f"{reports_path}: {len(reports)} reports")
    return features, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=Path, default=Path("examples/bug_reports.jsonl"))
    parser.add_argument("--labels", type=Path, default=Path("examples/bug_reports.labels.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--score-once", nargs=2, type=Path, metavar=("REPORTS", "LABELS"))
    parser.add_argument("--row", default="learned + csls", choices=sorted(ROWS))
    args = parser.parse_args()
    features, labels = _load(args.reports, args.labels)
    replay = ev.replay(features, HYBRID)
    cv = cal.cross_validate(replay, ev.replay(features, SEED), labels, fitters(HYBRID), args.folds)
    print(f"{args.folds} folds, pooled held-out figures (density over k={args.k}):")
    for name in cv.rows:
        print(_line(name, [fold.held_out[name] for fold in cv.folds]))
    r = densities(features, replay.order, args.k)
    for name, row in ROWS.items():
        print(_line(name, cross_validate(replay, labels, row, r, args.folds)))
    if args.score_once:
        _score_once(replay, labels, r, ROWS[args.row], args)


def _score_once(
    replay: ev.Replay,
    labels: ev.Labels,
    r: Mapping[str, float],
    row: Row,
    args: argparse.Namespace,
) -> None:
    """Fit row on the whole development set; score the other set once beside the hybrid."""
    model = DensityModel(row, r)
    model.fit(replay.candidates, ev.earlier_members(replay.order, labels), replay.order)
    features, other_labels = _load(*args.score_once)
    other = ev.replay(features, HYBRID)
    model.r = densities(features, other.order, args.k)
    truth = ev.earlier_members(other.order, other_labels)
    decided = {sid: model.decide(sid, other.candidates[sid]) for sid in other.order}
    print(_line("hybrid (shipped profile)", [ev.figures(other.decisions, truth, other.order)]))
    print(_line(f"{args.row} (fitted on all dev)", [ev.figures(decided, truth, other.order)]))


if __name__ == "__main__":
    main()
