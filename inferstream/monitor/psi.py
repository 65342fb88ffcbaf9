"""Binned distributions and the population stability index (pure).

A reference is a list of interior cut points (``edges``) and the share of the training-time
values in each bin; live values are counted into the same bins. PSI = sum over bins of
(live - ref) * ln(live / ref), with empty bins smoothed so a bin seen on one side only costs a
large but finite amount.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EPSILON = 1e-4
DEFAULT_BINS = 10
# Submission-to-result latency buckets (upper edges, ms). The SLO (200 ms) is an edge, so
# "p95 above the SLO" is decided exactly from the counts.
LATENCY_EDGES_MS: tuple[float, ...] = (
    5, 10, 25, 50, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000,
)  # fmt: skip


@dataclass(frozen=True)
class Distribution:
    """Interior cut points and the reference share of each of the len(edges) + 1 bins."""

    edges: tuple[float, ...]
    fractions: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.fractions) != len(self.edges) + 1:
            raise ValueError("a distribution needs one more fraction than edges")

    def to_json(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "fractions": list(self.fractions)}

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[float]]) -> Distribution:
        edges = tuple(float(e) for e in data["edges"])
        return cls(edges, tuple(float(f) for f in data["fractions"]))


def bin_of(edges: Sequence[float], value: float) -> int:
    """Bin index of one value: the number of edges at or below it."""
    return bisect.bisect_right(edges, value)


def latency_bucket(ms: float) -> int:
    """Latency bucket of one sample: bucket i holds (edges[i-1], edges[i]]; past the last edge
    is the overflow bucket len(edges)."""
    return bisect.bisect_left(LATENCY_EDGES_MS, ms)


def fit(values: npt.ArrayLike, bins: int = DEFAULT_BINS) -> Distribution:
    """Equal-frequency bins over ``values`` (ties merge bins: a binary feature gets 3, one
    of them empty) and the share of ``values`` in each."""
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size == 0:
        raise ValueError("no values to fit a distribution on")
    quantiles = np.quantile(data, np.linspace(0, 1, bins + 1)[1:-1])
    edges = tuple(sorted({float(q) for q in quantiles}))
    counts = np.bincount(np.searchsorted(edges, data, side="right"), minlength=len(edges) + 1)
    return Distribution(edges, tuple(float(c) / data.size for c in counts))


def psi(reference: Sequence[float], counts: Sequence[int]) -> float:
    """PSI of live ``counts`` (per bin) against ``reference`` shares; 0.0 with no counts."""
    if len(reference) != len(counts):
        raise ValueError(f"{len(counts)} bins counted, the reference has {len(reference)}")
    total = sum(counts)
    if total == 0:
        return 0.0
    value = 0.0
    for ref, count in zip(reference, counts, strict=True):
        live = max(count / total, EPSILON)
        expected = max(ref, EPSILON)
        value += (live - expected) * math.log(live / expected)
    return value


def dense(counts: Mapping[int, int], size: int) -> list[int]:
    """Sparse per-bin counts as a list of ``size`` (bins past the end are folded into the last)."""
    out = [0] * size
    for index, count in counts.items():
        out[min(max(index, 0), size - 1)] += count
    return out


def share_within(counts: Iterable[tuple[int, int]], edges: Sequence[float], limit: float) -> float:
    """Share of the latency samples in buckets whose upper edge is at most ``limit`` (1.0 with
    no samples): p95 <= limit exactly when this is >= 0.95."""
    pairs = list(counts)
    total = sum(c for _, c in pairs)
    if total == 0:
        return 1.0
    within = sum(c for b, c in pairs if b < len(edges) and edges[b] <= limit)
    return within / total


def quantile_upper_edge(counts: Mapping[int, int], edges: Sequence[float], q: float) -> float:
    """Upper edge of the bucket holding the q-quantile (inf for the overflow bucket)."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= q * total:
            return float(edges[index]) if index < len(edges) else math.inf
    return math.inf
