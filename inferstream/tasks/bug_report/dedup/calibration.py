"""Calibration of dedup profiles on a labelled replay: fold assignment, band thresholds, the
weight grid of the weighted-mean profiles, a cosine-only baseline and k-fold cross-validation.

Every fit sees the training reports' candidates and labels only; the held-out fold is scored
with the fitted profile through ``decide`` (the scorer's own decision function). Band edges are
put in the middle of the gap below the score they were chosen at, never above it, so the
profile returned decides the training reports exactly as the fit counted them (its training F1
is recomputed from that profile, not carried over from the search).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup.evaluation import (
    Figures,
    Labels,
    Replay,
    earlier_members,
    figures,
)
from inferstream.tasks.bug_report.dedup.profiles import SEED, DedupProfile
from inferstream.tasks.bug_report.dedup.scoring import Candidate, decide

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
GRID_LEXICAL = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
GRID_PRODUCT = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
GRID_COMPONENT = (0.0, 0.05, 0.1, 0.2)
# Below the lowest score there is no neighbour: the edge goes this far under it.
LOWEST_GAP = 2e-4

Candidates = Mapping[str, Sequence[Candidate]]
Truth = Mapping[str, frozenset[str]]
# A fitter: training candidates, labels and ids -> the profile it fits.
Fitter = Callable[[Candidates, Truth, Sequence[str]], DedupProfile]


def assign_folds(order: Sequence[str], labels: Labels, k: int) -> dict[str, int]:
    """Fold of each report: whole duplicate groups go to one fold (round robin in order of
    their first arrival), every other report round robin in arrival order."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    group_of = {sid: n for n, group in enumerate(labels.duplicate_groups) for sid in group}
    fold: dict[str, int] = {}
    group_fold: dict[int, int] = {}
    singles = 0
    for sid in order:
        if sid in group_of:
            g = group_of[sid]
            if g not in group_fold:
                group_fold[g] = len(group_fold) % k
            fold[sid] = group_fold[g]
        else:
            fold[sid] = singles % k
            singles += 1
    return fold


@dataclass
class Matrix:
    """Padded candidate features of the reports (reports x candidates x 4: cosine, lexical,
    same product, same component), for a fast grid search."""

    ids: list[str]
    x: FloatArray
    valid: BoolArray


def matrix(candidates: Candidates, ids: Sequence[str]) -> Matrix:
    width = max((len(candidates[sid]) for sid in ids), default=0) or 1
    x = np.zeros((len(ids), width, 4))
    valid = np.zeros((len(ids), width), bool)
    for row, sid in enumerate(ids):
        for col, c in enumerate(candidates[sid]):
            x[row, col] = (c.cosine, c.lexical, c.same_product, c.same_component)
            valid[row, col] = True
    return Matrix(list(ids), x, valid)


def best_threshold(scores: FloatArray, actual: BoolArray, beta: float) -> float:
    """The band edge maximising F-beta over the reports' best scores (ties: the higher one).
    It is set mid-gap between the score it was chosen at and the next lower distinct score,
    so it never rises above the chosen score and no training report sits on the edge."""
    order = np.argsort(-scores, kind="stable")
    s, a = scores[order], actual[order]
    tp = np.cumsum(a)
    fp = np.cumsum(~a)
    positives = max(int(a.sum()), 1)
    precision = tp / (tp + fp)
    recall = tp / positives
    b2 = beta * beta
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(
            precision + recall > 0,
            (1 + b2) * precision * recall / (b2 * precision + recall),
            0.0,
        )
    # Only cut between distinct scores: the last index of each run of equal scores.
    last = np.r_[s[1:] != s[:-1], True]
    best = int(np.argmax(np.where(last, f, -1.0)))
    chosen = float(s[best])
    below = float(s[best + 1]) if best + 1 < len(s) else chosen - LOWEST_GAP
    edge = (chosen + below) / 2
    return edge if below < edge <= chosen else chosen


def _f1(predicted: BoolArray, actual: BoolArray) -> float:
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _mean_scores(m: Matrix, weights: tuple[float, float, float, float]) -> FloatArray:
    combined = (m.x @ np.asarray(weights)) / sum(weights)
    best: FloatArray = np.where(m.valid, combined, -1.0).max(axis=1)
    return best


def fit_hybrid(base: DedupProfile) -> Fitter:
    """Weighted mean (grid over w_lex, w_prod, w_comp with w_sem fixed), duplicate band at the
    F1-best edge, possible at the F2-best (recall-leaning) one, never above duplicate."""

    def fit(candidates: Candidates, truth: Truth, ids: Sequence[str]) -> DedupProfile:
        m = matrix(candidates, ids)
        actual = np.array([bool(truth[sid]) for sid in ids])
        best: tuple[float, tuple[float, float, float, float], float] | None = None
        for w_lex in GRID_LEXICAL:
            for w_prod in GRID_PRODUCT:
                for w_comp in GRID_COMPONENT:
                    weights = (base.w_semantic, w_lex, w_prod, w_comp)
                    scores = _mean_scores(m, weights)
                    edge = best_threshold(scores, actual, 1.0)
                    f1 = _f1(scores >= edge, actual)
                    if best is None or f1 > best[0] + 1e-12:
                        best = (f1, weights, edge)
        assert best is not None
        _, (_, w_lex, w_prod, w_comp), duplicate = best
        scores = _mean_scores(m, (base.w_semantic, w_lex, w_prod, w_comp))
        possible = min(duplicate, best_threshold(scores, actual, 2.0))
        return base.with_weights(w_lex, w_prod, w_comp, duplicate, possible)

    return fit


def fit_cosine(candidates: Candidates, truth: Truth, ids: Sequence[str]) -> DedupProfile:
    """The baseline: MiniLM cosine alone (the score of seed 001, Bug Dedup) with its bands fitted
    the same way."""
    m = matrix(candidates, ids)
    actual = np.array([bool(truth[sid]) for sid in ids])
    scores = _mean_scores(m, (1.0, 0.0, 0.0, 0.0))
    duplicate = best_threshold(scores, actual, 1.0)
    possible = min(duplicate, best_threshold(scores, actual, 2.0))
    return DedupProfile("cosine-fit", SEED.version, duplicate=duplicate, possible=possible)


def decisions(
    candidates: Candidates, ids: Sequence[str], profile: DedupProfile
) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    for sid in ids:
        verdict = decide(candidates[sid], profile).verdict
        out[sid] = (verdict.status, verdict.duplicate_of)
    return out


@dataclass(frozen=True)
class Fit:
    profile: DedupProfile
    train_f1: float  # of the returned profile, through decide(), on the training reports


def fit(fitter: Fitter, candidates: Candidates, truth: Truth, ids: Sequence[str]) -> Fit:
    profile = fitter(candidates, truth, ids)
    return Fit(profile, figures(decisions(candidates, ids, profile), truth, ids).f1)


def fit_fold(
    fitter: Fitter,
    replay: Replay,
    labels: Labels,
    fold_of: Mapping[str, int],
    fold: int,
) -> DedupProfile:
    """The profile fitted for a fold: on the other folds' reports and labels only."""
    truth = earlier_members(replay.order, labels)
    train = [sid for sid in replay.order if fold_of[sid] != fold]
    return fitter(replay.candidates, {sid: truth[sid] for sid in train}, train)


@dataclass(frozen=True)
class FoldResult:
    fold: int
    fitted: Mapping[str, DedupProfile]  # row name -> profile fitted on the other folds
    held_out: Mapping[str, Figures]  # row name -> figures on this fold
    seed: Figures


@dataclass(frozen=True)
class CrossValidation:
    folds: tuple[FoldResult, ...]
    pooled: Mapping[str, Figures] = field(init=False)
    pooled_seed: Figures = field(init=False)

    def __post_init__(self) -> None:
        zero = Figures(0, 0, 0, 0, 0)
        pooled: dict[str, Figures] = {}
        pooled_seed = zero
        for f in self.folds:
            for name, figs in f.held_out.items():
                pooled[name] = pooled.get(name, zero) + figs
            pooled_seed = pooled_seed + f.seed
        object.__setattr__(self, "pooled", pooled)
        object.__setattr__(self, "pooled_seed", pooled_seed)

    @property
    def rows(self) -> list[str]:
        return list(self.folds[0].held_out) if self.folds else []

    def mean(self, attr: str, row: str | None = None) -> float:
        """Mean over folds of a Figures attribute; row None: the seed's."""
        return float(
            np.mean([getattr(f.seed if row is None else f.held_out[row], attr) for f in self.folds])
        )


def cross_validate(
    replay: Replay,
    seed: Replay,
    labels: Labels,
    fitters: Mapping[str, Fitter],
    k: int = 5,
) -> CrossValidation:
    """Each fitter fitted on k-1 folds, scored on the held-out fold through ``decide``; the
    seed replay's decisions on the same fold beside (seed 001 has nothing to fit)."""
    truth = earlier_members(replay.order, labels)
    fold_of = assign_folds(replay.order, labels, k)
    results = []
    for f in range(k):
        test = [sid for sid in replay.order if fold_of[sid] == f]
        fitted = {
            name: fit_fold(fitter, replay, labels, fold_of, f) for name, fitter in fitters.items()
        }
        held_out = {
            name: figures(decisions(replay.candidates, test, profile), truth, test)
            for name, profile in fitted.items()
        }
        results.append(FoldResult(f, fitted, held_out, figures(seed.decisions, truth, test)))
    return CrossValidation(tuple(results))
