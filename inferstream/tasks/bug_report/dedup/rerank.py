"""A re-ranker over the top candidates that reads both reports' texts, field by field.

The embedding and the TF-IDF cosine each see a report as one text. Duplicates written by
different people often share the failing step or the error while their titles differ, and
near misses share the area (title words, product, component) while their errors differ. So
each (report, candidate) pair gets field-aware features on top of the scorer's four: word
overlap of title/title, description/description, steps/steps and logs/logs (stems, Jaccard),
title against the other's description (a symptom named in other words), the error-signature
agreement (shared exception/code/frame; both name some and share none; platforms or versions
that disagree), and the candidate's place among the report's candidates (rank, cosine gap to
the best). A logistic regression over them (``learned.logistic``) gives the probability that
the candidate is an earlier report of the same bug; the most probable of the top ``TOP_K``
decides, with bands fitted on the training reports' best probabilities as every fit does.

Measured by cross-validation on the development set only (``cross_validate_rerank``, on the
folds ``calibration.cross_validate`` uses); docs/dedup.md has the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from inferstream.tasks.bug_report.dedup.calibration import (
    FloatArray,
    Truth,
    assign_folds,
    best_threshold,
)
from inferstream.tasks.bug_report.dedup.evaluation import (
    Figures,
    Labels,
    Replay,
    earlier_members,
    figures,
)
from inferstream.tasks.bug_report.dedup.learned import logistic
from inferstream.tasks.bug_report.dedup.scoring import Candidate
from inferstream.tasks.bug_report.dedup.signatures import agreement
from inferstream.tasks.bug_report.dedup.terms import tokenize
from inferstream.tasks.bug_report.dedup.verdicts import band

TOP_K = 5
FIELDS = ("title", "description", "steps", "logs")
FEATURES = 15


@dataclass(frozen=True)
class ReportText:
    """A report's stems per field and its error signature (computed once per report)."""

    fields: Mapping[str, frozenset[str]]
    signature: frozenset[str]

    @classmethod
    def of(cls, texts: Mapping[str, str], signature: frozenset[str]) -> ReportText:
        return cls({f: frozenset(tokenize(texts.get(f, ""))) for f in FIELDS}, signature)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _containment(a: frozenset[str], b: frozenset[str]) -> float:
    """How much of ``a`` (a title: few words) the other text holds."""
    return len(a & b) / len(a) if a and b else 0.0


def pair_row(
    c: Candidate, rank: int, best_cosine: float, a: ReportText, b: ReportText
) -> list[float]:
    """The features of one (report, candidate) pair; ``rank`` 0 is the scorer's best."""
    shared, conflict, context = agreement(a.signature, b.signature)
    same_product = float(c.same_product)
    return [
        c.cosine,
        c.lexical,
        same_product,
        float(c.same_component),
        *(_jaccard(a.fields[f], b.fields[f]) for f in FIELDS),
        max(
            _containment(a.fields["title"], b.fields["description"]),
            _containment(b.fields["title"], a.fields["description"]),
        ),
        shared,
        conflict,
        context,
        float(rank),
        best_cosine - c.cosine,
        c.cosine * same_product,
    ]


def rows_of(
    candidates: Sequence[Candidate], mine: ReportText, texts: Mapping[str, ReportText]
) -> FloatArray:
    """The feature rows of a report's top candidates (shape (n, FEATURES), n <= TOP_K)."""
    top = list(candidates[:TOP_K])
    best = max((c.cosine for c in top), default=0.0)
    empty = ReportText.of({}, frozenset())
    rows = [
        pair_row(c, rank, best, mine, texts.get(c.submission_id, empty))
        for rank, c in enumerate(top)
    ]
    return np.asarray(rows, np.float64).reshape(-1, FEATURES)


@dataclass(frozen=True)
class RerankModel:
    """Logistic regression over the pair features, with the fitted bands."""

    bias: float
    weights: FloatArray
    scale: FloatArray  # each feature divided by its training spread (a fair L2 penalty)
    duplicate: float = 1.0
    possible: float = 1.0

    def best(
        self, candidates: Sequence[Candidate], mine: ReportText, texts: Mapping[str, ReportText]
    ) -> tuple[float, str | None]:
        """(probability, id) of the most probable of the top candidates."""
        if not candidates:
            return -1.0, None
        z = (rows_of(candidates, mine, texts) / self.scale) @ self.weights + self.bias
        i = int(np.argmax(z))
        return float(1.0 / (1.0 + np.exp(-z[i]))), candidates[i].submission_id

    def decide(
        self, candidates: Sequence[Candidate], mine: ReportText, texts: Mapping[str, ReportText]
    ) -> tuple[str, str | None]:
        p, other = self.best(candidates, mine, texts)
        return band(p, other, self)


def fit_rerank(
    candidates: Mapping[str, Sequence[Candidate]],
    truth: Truth,
    ids: Sequence[str],
    texts: Mapping[str, ReportText],
) -> RerankModel:
    """Fit on these reports only: the pairs of their top candidates, then the bands."""
    blocks = [rows_of(candidates[sid], texts[sid], texts) for sid in ids]
    labels = [float(c.submission_id in truth[sid]) for sid in ids for c in candidates[sid][:TOP_K]]
    x = np.vstack([*blocks, np.zeros((0, FEATURES))])
    scale = np.maximum(x.std(axis=0), 1e-6) if len(x) else np.ones(FEATURES)
    bias, w = logistic(x / scale, np.asarray(labels, np.float64))
    model = RerankModel(bias, w, scale)
    best = np.array([model.best(candidates[sid], texts[sid], texts)[0] for sid in ids])
    actual = np.array([bool(truth[sid]) for sid in ids])
    duplicate = best_threshold(best, actual, 1.0)
    return replace(
        model, duplicate=duplicate, possible=min(duplicate, best_threshold(best, actual, 2.0))
    )


def cross_validate_rerank(
    replay: Replay, labels: Labels, texts: Mapping[str, ReportText], k: int = 5
) -> list[Figures]:
    """Held-out figures per fold, on the folds ``calibration.cross_validate`` uses."""
    truth = earlier_members(replay.order, labels)
    fold_of = assign_folds(replay.order, labels, k)
    out = []
    for f in range(k):
        train = [sid for sid in replay.order if fold_of[sid] != f]
        test = [sid for sid in replay.order if fold_of[sid] == f]
        model = fit_rerank(replay.candidates, {s: truth[s] for s in train}, train, texts)
        decided = {sid: model.decide(replay.candidates[sid], texts[sid], texts) for sid in test}
        out.append(figures(decided, truth, test))
    return out
