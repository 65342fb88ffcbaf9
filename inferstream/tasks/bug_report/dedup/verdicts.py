"""Duplicate verdicts from ranked candidates (pure). Seed 001 thresholds by default:
cosine >= 0.85 -> duplicate, >= 0.70 -> possible_duplicate (pending review), else unique.
Profiles (profiles.py) give other scores and bands; scoring.py ranks the candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from inferstream.schemas.tasks.bug_report import DuplicateStatus


@dataclass(frozen=True)
class DedupThresholds:
    duplicate: float = 0.85
    possible: float = 0.70
    top_k: int = 5


class Bands(Protocol):
    @property
    def duplicate(self) -> float: ...
    @property
    def possible(self) -> float: ...


@dataclass(frozen=True)
class Verdict:
    status: DuplicateStatus
    duplicate_of: str | None
    similar: tuple[tuple[str, float], ...]


def merge_candidates(
    own_id: str,
    indexed: Sequence[tuple[str, float]],
    in_batch: Sequence[tuple[str, float]],
    top_k: int,
) -> list[tuple[str, float]]:
    """Best score per id, self excluded, best first (ties by id for determinism)."""
    best: dict[str, float] = {}
    for other, score in (*indexed, *in_batch):
        if other != own_id and score > best.get(other, -2.0):
            best[other] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:top_k]


def band(p: float, other: str | None, bands: Bands) -> tuple[DuplicateStatus, str | None]:
    """The status a score or probability p of the best candidate other falls in (the one place
    the bands are applied: the cosine verdict and the fitted models share it)."""
    if p >= bands.duplicate:
        return "duplicate", other
    if p >= bands.possible:
        return "possible_duplicate", other
    return "unique", None


def classify(similar: Sequence[tuple[str, float]], thresholds: Bands) -> Verdict:
    if not similar:
        return Verdict("unique", None, ())
    best_id, best = similar[0]
    clipped = tuple((sid, float(min(1.0, max(-1.0, score)))) for sid, score in similar)
    return Verdict(*band(best, best_id, thresholds), clipped)


def in_batch_scores(
    vectors: npt.NDArray[np.float32], ids: Sequence[str], index: int
) -> list[tuple[str, float]]:
    """Cosine of item `index` to the items before it in the same batch (arrival order), so
    duplicates submitted together are found too."""
    if index == 0:
        return []
    scores = vectors[:index] @ vectors[index]
    return [(ids[i], float(scores[i])) for i in range(index)]
