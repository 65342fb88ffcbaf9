"""A calibrated classifier over the candidate features instead of hand-set weights: logistic
regression of "this candidate is an earlier report of the same bug" on (cosine, TF-IDF cosine,
same product, same component), fitted by Newton's method with a small L2 penalty (numpy only);
and the same with the error-signature evidence (``SignalModel``, cross-validated by the eval).

Its profile scores a candidate with the fitted probability (``DedupProfile.link ==
"logistic"``); the report's best candidate decides as with every profile, with the bands fitted
on the training reports' best probabilities (F1 for ``duplicate``, F2 for ``possible``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from inferstream.tasks.bug_report.dedup.calibration import (
    Candidates,
    FloatArray,
    Truth,
    assign_folds,
    best_threshold,
    matrix,
)
from inferstream.tasks.bug_report.dedup.evaluation import (
    Figures,
    Labels,
    Replay,
    earlier_members,
    figures,
)
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile
from inferstream.tasks.bug_report.dedup.scoring import Candidate
from inferstream.tasks.bug_report.dedup.signatures import agreement
from inferstream.tasks.bug_report.dedup.verdicts import band

Signatures = Mapping[str, frozenset[str]]
L2 = 1e-2  # ridge on the weights (not the bias): keeps separable folds finite
ITERATIONS = 50


def logistic(x: FloatArray, y: FloatArray, l2: float = L2) -> tuple[float, FloatArray]:
    """(bias, weights) maximising the L2-penalised log-likelihood of y (0/1) given x."""
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (y - p) - penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(beta)), gradient)
        beta += step
        if float(np.abs(step).max()) < 1e-8:
            break
    return float(beta[0]), beta[1:]


def pairs(
    candidates: Candidates, truth: Truth, ids: Sequence[str]
) -> tuple[FloatArray, FloatArray]:
    """Every candidate of the reports as one training pair: features, and 1 when it is an
    earlier member of the report's duplicate group."""
    rows: list[tuple[float, float, float, float]] = []
    labels: list[float] = []
    for sid in ids:
        for c in candidates[sid]:
            rows.append((c.cosine, c.lexical, float(c.same_product), float(c.same_component)))
            labels.append(float(c.submission_id in truth[sid]))
    return np.asarray(rows, np.float64).reshape(-1, 4), np.asarray(labels, np.float64)


def fit_logistic(candidates: Candidates, truth: Truth, ids: Sequence[str]) -> DedupProfile:
    x, y = pairs(candidates, truth, ids)
    bias, w = logistic(x, y)
    profile = DedupProfile(
        name="learned",
        version="fit",
        duplicate=1.0,
        possible=1.0,
        w_semantic=float(w[0]),
        w_lexical=float(w[1]),
        w_product=float(w[2]),
        w_component=float(w[3]),
        link="logistic",
        bias=bias,
    )
    m = matrix(candidates, ids)
    probability = 1.0 / (1.0 + np.exp(-(m.x @ w + bias)))
    scores: FloatArray = np.where(m.valid, probability, -1.0).max(axis=1)
    actual = np.array([bool(truth[sid]) for sid in ids])
    duplicate = best_threshold(scores, actual, 1.0)
    possible = min(duplicate, best_threshold(scores, actual, 2.0))
    return replace(profile, duplicate=duplicate, possible=possible)


# --- the same classifier with error signatures (measured by cross-validation only) ----------

SIGNAL_FEATURES = 8  # the four above, signature shared / conflict / context conflict, cos*prod


def signal_row(c: Candidate, mine: frozenset[str], theirs: frozenset[str]) -> list[float]:
    shared, conflict, context = agreement(mine, theirs)
    product = float(c.same_product)
    return [
        c.cosine,
        c.lexical,
        product,
        float(c.same_component),
        shared,
        conflict,
        context,
        c.cosine * product,
    ]


@dataclass(frozen=True)
class SignalModel:
    """Logistic regression over the candidate features plus the error-signature evidence."""

    bias: float
    weights: FloatArray
    duplicate: float
    possible: float

    def best(
        self, candidates: Sequence[Candidate], mine: frozenset[str], signatures: Signatures
    ) -> tuple[float, str | None]:
        """(probability, id) of the most probable candidate."""
        if not candidates:
            return -1.0, None
        x = np.array(
            [signal_row(c, mine, signatures.get(c.submission_id, frozenset())) for c in candidates]
        )
        z = x @ self.weights + self.bias
        i = int(np.argmax(z))
        return float(1.0 / (1.0 + np.exp(-z[i]))), candidates[i].submission_id

    def decide(
        self, candidates: Sequence[Candidate], mine: frozenset[str], signatures: Signatures
    ) -> tuple[str, str | None]:
        p, other = self.best(candidates, mine, signatures)
        return band(p, other, self)


def fit_signals(
    candidates: Candidates, truth: Truth, ids: Sequence[str], signatures: Signatures
) -> SignalModel:
    rows: list[list[float]] = []
    labels: list[float] = []
    for sid in ids:
        mine = signatures.get(sid, frozenset())
        for c in candidates[sid]:
            rows.append(signal_row(c, mine, signatures.get(c.submission_id, frozenset())))
            labels.append(float(c.submission_id in truth[sid]))
    bias, w = logistic(np.asarray(rows).reshape(-1, SIGNAL_FEATURES), np.asarray(labels))
    model = SignalModel(bias, w, 1.0, 1.0)
    best = np.array(
        [
            model.best(candidates[sid], signatures.get(sid, frozenset()), signatures)[0]
            for sid in ids
        ]
    )
    actual = np.array([bool(truth[sid]) for sid in ids])
    duplicate = best_threshold(best, actual, 1.0)
    return replace(
        model, duplicate=duplicate, possible=min(duplicate, best_threshold(best, actual, 2.0))
    )


def cross_validate_signals(
    replay: Replay, labels: Labels, signatures: Signatures, k: int = 5
) -> list[Figures]:
    """Held-out figures per fold of the signature model, on the folds ``cross_validate`` uses."""
    truth = earlier_members(replay.order, labels)
    fold_of = assign_folds(replay.order, labels, k)
    out = []
    for f in range(k):
        train = [sid for sid in replay.order if fold_of[sid] != f]
        test = [sid for sid in replay.order if fold_of[sid] == f]
        model = fit_signals(replay.candidates, {s: truth[s] for s in train}, train, signatures)
        decided = {
            sid: model.decide(replay.candidates[sid], signatures.get(sid, frozenset()), signatures)
            for sid in test
        }
        out.append(figures(decided, truth, test))
    return out
