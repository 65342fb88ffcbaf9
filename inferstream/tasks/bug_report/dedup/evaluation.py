"""Dedup evaluation against a labelled set (pure): replay, figures, threshold sweep, candidate
recall (calibration and cross-validation: ``calibration.py``).

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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile
from inferstream.tasks.bug_report.dedup.scoring import (
    Candidate,
    DedupScorer,
    ReportFeatures,
    decide,
)
from inferstream.tasks.bug_report.dedup.signatures import signature
from inferstream.tasks.bug_report.dedup.terms import term_frequencies

FloatArray = npt.NDArray[np.float32]
SWEEP = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95


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
        signature=signature(
            payload.title, payload.description, payload.steps_to_reproduce, payload.logs
        ),
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
        (decision,) = scorer.score([report], every_candidate=True)
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


def candidate_recall(
    candidates: Mapping[str, Sequence[Candidate]],
    truth: Mapping[str, frozenset[str]],
    profile: DedupProfile,
    ks: Sequence[int] = (1, 5, 20),
) -> dict[int, float]:
    """k -> share of the true duplicates with an earlier member of their group among their
    top-k candidates under profile's ranking: what the candidate stage can find at all,
    apart from the decision (k = 1 is the link a ``duplicate`` verdict would name)."""
    positives = [sid for sid in candidates if truth[sid]]
    found = dict.fromkeys(ks, 0)
    for sid in positives:
        ranked = [c.submission_id for c in decide(candidates[sid], profile).candidates]
        for k in ks:
            found[k] += any(other in truth[sid] for other in ranked[:k])
    return {k: found[k] / len(positives) if positives else 0.0 for k in ks}
