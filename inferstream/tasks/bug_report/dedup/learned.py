"""A calibrated classifier over the candidate features instead of hand-set weights: logistic
regression of "this candidate is an earlier report of the same bug" on (cosine, TF-IDF cosine,
same product, same component), fitted by Newton's method with a small L2 penalty (numpy only).

Its profile scores a candidate with the fitted probability (``DedupProfile.link ==
"logistic"``); the report's best candidate decides as with every profile, with the bands fitted
on the training reports' best probabilities (F1 for ``duplicate``, F2 for ``possible``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup.calibration import (
    Candidates,
    Truth,
    best_threshold,
    matrix,
)
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile

FloatArray = npt.NDArray[np.float64]
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
