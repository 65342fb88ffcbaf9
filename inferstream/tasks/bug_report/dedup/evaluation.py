"""Dedup evaluation against a labelled set (pure): replay, figures, threshold sweep and
calibration by k-fold cross-validation over duplicate groups.

Replay feeds the reports in arrival order through ``DedupScorer`` (the infer stage's scorer),
one at a time: score, then add, as the infer stage does when each result is durable before the
next report is scored.

Ground truth: a report "is a duplicate" when an earlier report (in arrival order) belongs to
its duplicate group; the first member of a group and every report outside the groups are not.
A ``duplicate`` verdict is the positive prediction (``possible_duplicate`` is reported apart);
the duplicate_of link is correct when it names an earlier member of the same group.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.dedup.lexical import term_frequencies
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile
from inferstream.tasks.bug_report.dedup.scoring import (
    Candidate,
    DedupScorer,
    ReportFeatures,
    decide,
)

FloatArray = npt.NDArray[np.float32]
SWEEP = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
GRID_LEXICAL = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
GRID_PRODUCT = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
GRID_COMPONENT = (0.0, 0.05, 0.1, 0.2)


class LabelsError(ValueError):
    pass


@dataclass(frozen=True)
class Labels:
    duplicate_groups: tuple[tuple[str, ...], ...]
    near_miss_pairs: tuple[tuple[str, str], ...] = ()


def parse_labels(data: object, known: Iterable[str]) -> Labels:
    """The labels file's groups (and near-miss pairs); ids must name reports of the file."""
    if not isinstance(data, dict) or not isinstance(data.get("duplicate_groups"), list):
        raise LabelsError("labels: expected an object with a 'duplicate_groups' list")
    ids = set(known)
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for n, group in enumerate(data["duplicate_groups"]):
        if not isinstance(group, list) or len(group) < 2:
            raise LabelsError(f"labels: duplicate_groups[{n}] is not a list of >= 2 ids")
        members = tuple(str(s).lower() for s in group)
        for sid in members:
            if sid not in ids:
                raise LabelsError(f"labels: duplicate_groups[{n}] names {sid}, not in the file")
            if sid in seen:
                raise LabelsError(f"labels: {sid} is in more than one duplicate group")
            seen.add(sid)
        groups.append(members)
    pairs: list[tuple[str, str]] = []
    for n, pair in enumerate(data.get("near_miss_pairs", [])):
        if not isinstance(pair, list) or len(pair) != 2:
            raise LabelsError(f"labels: near_miss_pairs[{n}] is not a pair of ids")
        a, b = (str(s).lower() for s in pair)
        if a not in ids or b not in ids:
            raise LabelsError(f"labels: near_miss_pairs[{n}] names an id not in the file")
        pairs.append((a, b))
    return Labels(tuple(groups), tuple(pairs))


def features(sid: str, payload: BugReportPayload, vector: FloatArray) -> ReportFeatures:
    """The scorer's view of a labelled report (what the inferer builds from an envelope)."""
    return ReportFeatures(
        submission_id=sid,
        vector=vector,
        terms=term_frequencies(payload.title, payload.description, payload.steps_to_reproduce),
        product=payload.product,
        component=payload.component,
    )


@dataclass(frozen=True)
class Replay:
    order: tuple[str, ...]
    decisions: Mapping[str, tuple[str, str | None]]  # sid -> (status, duplicate_of)
    candidates: Mapping[str, tuple[Candidate, ...]]
    seconds_per_record: tuple[float, ...]


def replay(
    reports: Sequence[ReportFeatures],
    profile: DedupProfile,
    history: Sequence[ReportFeatures] = (),
) -> Replay:
    """Score each report against the ones before it, then add it (arrival order). history:
    reports already indexed before the first one (what a worker rebuilds from Postgres)."""
    scorer = DedupScorer(profile, reports[0].vector.shape[0] if reports else 384)
    scorer.add(history)
    decisions: dict[str, tuple[str, str | None]] = {}
    candidates: dict[str, tuple[Candidate, ...]] = {}
    cost: list[float] = []
    for report in reports:
        started = time.perf_counter()
        (decision,) = scorer.score([report])
        scorer.add([report])
        cost.append(time.perf_counter() - started)
        decisions[report.submission_id] = (
            decision.verdict.status,
            decision.verdict.duplicate_of,
        )
        candidates[report.submission_id] = decision.candidates
    return Replay(tuple(r.submission_id for r in reports), decisions, candidates, tuple(cost))


def earlier_members(order: Sequence[str], labels: Labels) -> dict[str, frozenset[str]]:
    """sid -> the members of its group that arrived before it (empty: not a duplicate)."""
    position = {sid: n for n, sid in enumerate(order)}
    out = {sid: frozenset[str]() for sid in order}
    for group in labels.duplicate_groups:
        for sid in group:
            out[sid] = frozenset(o for o in group if position[o] < position[sid])
    return out


@dataclass(frozen=True)
class Figures:
    tp: int
    fp: int
    fn: int
    tn: int
    links_correct: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def link_accuracy(self) -> float:
        """Share of true positives whose duplicate_of names an earlier member of the group.
        Undefined ratios (nothing predicted, nothing to find) are 0, as in scikit-learn."""
        return self.links_correct / self.tp if self.tp else 0.0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.tn + other.tn,
            self.links_correct + other.links_correct,
        )


def figures(
    decisions: Mapping[str, tuple[str, str | None]],
    truth: Mapping[str, frozenset[str]],
    ids: Iterable[str],
    positive: frozenset[str] = frozenset({"duplicate"}),
) -> Figures:
    tp = fp = fn = tn = links = 0
    for sid in ids:
        status, other = decisions[sid]
        actual = bool(truth[sid])
        if status in positive:
            if actual:
                tp += 1
                links += other in truth[sid]
            else:
                fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    return Figures(tp, fp, fn, tn, links)


def best_of(
    candidates: Mapping[str, Sequence[Candidate]], profile: DedupProfile
) -> dict[str, tuple[float, str | None]]:
    """sid -> (best score under profile, its id), by the scorer's own ranking."""
    out: dict[str, tuple[float, str | None]] = {}
    for sid, cands in candidates.items():
        ranked = decide(cands, profile).candidates
        out[sid] = (ranked[0].score, ranked[0].submission_id) if ranked else (-1.0, None)
    return out


def at_threshold(
    best: Mapping[str, tuple[float, str | None]], threshold: float
) -> dict[str, tuple[str, str | None]]:
    return {
        sid: ("duplicate", other) if score >= threshold else ("unique", None)
        for sid, (score, other) in best.items()
    }


def sweep(
    best: Mapping[str, tuple[float, str | None]],
    truth: Mapping[str, frozenset[str]],
    thresholds: Sequence[float] = SWEEP,
) -> list[tuple[float, Figures]]:
    return [(t, figures(at_threshold(best, t), truth, best)) for t in thresholds]


def pr_curve(
    best: Mapping[str, tuple[float, str | None]], truth: Mapping[str, frozenset[str]]
) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at every distinct best score, high to low."""
    points = []
    for t in sorted({score for score, _ in best.values()}, reverse=True):
        f = figures(at_threshold(best, t), truth, best)
        points.append((t, f.precision, f.recall))
    return points


# --- calibration -------------------------------------------------------------------------


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
class _Matrix:
    """Padded candidate features of the reports, for a fast grid search."""

    ids: list[str]
    cosine: FloatArray
    lexical: FloatArray
    product: FloatArray
    component: FloatArray
    valid: npt.NDArray[np.bool_]


def _matrix(candidates: Mapping[str, Sequence[Candidate]], ids: Sequence[str]) -> _Matrix:
    width = max((len(candidates[sid]) for sid in ids), default=0) or 1
    shape = (len(ids), width)
    m = _Matrix(
        list(ids),
        np.zeros(shape, np.float32),
        np.zeros(shape, np.float32),
        np.zeros(shape, np.float32),
        np.zeros(shape, np.float32),
        np.zeros(shape, bool),
    )
    for row, sid in enumerate(ids):
        for col, c in enumerate(candidates[sid]):
            m.cosine[row, col] = c.cosine
            m.lexical[row, col] = c.lexical
            m.product[row, col] = c.same_product
            m.component[row, col] = c.same_component
            m.valid[row, col] = True
    return m


def _best_threshold(scores: FloatArray, actual: npt.NDArray[np.bool_], beta: float) -> float:
    """The threshold (one of the scores) maximising F-beta; ties go to the higher one."""
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
    f = np.where(last, f, -1.0)
    best = int(np.argmax(f))
    return round(float(s[best]) - 1e-6, 6)


@dataclass(frozen=True)
class Fit:
    profile: DedupProfile
    train_f1: float


def fit(
    candidates: Mapping[str, Sequence[Candidate]],
    truth: Mapping[str, frozenset[str]],
    ids: Sequence[str],
    base: DedupProfile,
) -> Fit:
    """Weights (grid) and bands fitted on ids only: duplicate at the F1-best threshold,
    possible at the F2-best (recall-leaning) one, never above duplicate."""
    m = _matrix(candidates, ids)
    actual = np.array([bool(truth[sid]) for sid in ids])
    best: tuple[float, float, float, float, float] | None = None
    for w_lex in GRID_LEXICAL:
        for w_prod in GRID_PRODUCT:
            for w_comp in GRID_COMPONENT:
                total = base.w_semantic + w_lex + w_prod + w_comp
                combined = (
                    base.w_semantic * m.cosine
                    + w_lex * m.lexical
                    + w_prod * m.product
                    + w_comp * m.component
                ) / total
                scores = np.where(m.valid, combined, -1.0).max(axis=1).astype(np.float32)
                threshold = _best_threshold(scores, actual, 1.0)
                f1 = _f1(scores >= threshold, actual)
                if best is None or f1 > best[0] + 1e-12:
                    best = (f1, w_lex, w_prod, w_comp, threshold)
    assert best is not None
    f1, w_lex, w_prod, w_comp, duplicate = best
    total = base.w_semantic + w_lex + w_prod + w_comp
    combined = (
        base.w_semantic * m.cosine + w_lex * m.lexical + w_prod * m.product + w_comp * m.component
    ) / total
    scores = np.where(m.valid, combined, -1.0).max(axis=1).astype(np.float32)
    possible = min(duplicate, _best_threshold(scores, actual, 2.0))
    profile = base.with_weights(
        w_lexical=w_lex,
        w_product=w_prod,
        w_component=w_comp,
        duplicate=round(duplicate, 4),
        possible=round(possible, 4),
    )
    return Fit(profile, f1)


def _f1(predicted: npt.NDArray[np.bool_], actual: npt.NDArray[np.bool_]) -> float:
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass(frozen=True)
class FoldResult:
    fold: int
    fitted: DedupProfile
    held_out: Figures
    seed: Figures


@dataclass(frozen=True)
class CrossValidation:
    folds: tuple[FoldResult, ...]
    pooled: Figures = field(init=False)
    pooled_seed: Figures = field(init=False)

    def __post_init__(self) -> None:
        zero = Figures(0, 0, 0, 0, 0)
        pooled, pooled_seed = zero, zero
        for f in self.folds:
            pooled, pooled_seed = pooled + f.held_out, pooled_seed + f.seed
        object.__setattr__(self, "pooled", pooled)
        object.__setattr__(self, "pooled_seed", pooled_seed)

    def mean(self, attr: str, seed: bool = False) -> float:
        values = [getattr(f.seed if seed else f.held_out, attr) for f in self.folds]
        return float(np.mean(values))


def cross_validate(
    hybrid: Replay,
    seed: Replay,
    labels: Labels,
    base: DedupProfile,
    k: int = 5,
) -> CrossValidation:
    """Fit on k-1 folds, score the held-out fold with the fitted profile through ``decide``
    (the scorer's decision function); the seed replay's decisions on the same fold beside."""
    truth = earlier_members(hybrid.order, labels)
    fold_of = assign_folds(hybrid.order, labels, k)
    results = []
    for f in range(k):
        train = [sid for sid in hybrid.order if fold_of[sid] != f]
        test = [sid for sid in hybrid.order if fold_of[sid] == f]
        fitted = fit(hybrid.candidates, truth, train, base).profile
        decided = {}
        for sid in test:
            verdict = decide(hybrid.candidates[sid], fitted).verdict
            decided[sid] = (verdict.status, verdict.duplicate_of)
        results.append(
            FoldResult(
                f, fitted, figures(decided, truth, test), figures(seed.decisions, truth, test)
            )
        )
    return CrossValidation(tuple(results))
