"""bench latency says when a level's p99 is its slowest record: report.percentile is
nearest-rank, so up to NEAREST_RANK_MAX_N values its p99 is the largest one (10 s levels at
rate=4 hold 10-40 records)."""

from __future__ import annotations

from inferstream.bench.latency import NEAREST_RANK_MAX_N
from inferstream.bench.report import percentile


def test_the_bound_is_where_p99_stops_being_the_maximum() -> None:
    for n in range(1, NEAREST_RANK_MAX_N + 1):
        assert percentile([float(i) for i in range(n)], 0.99) == n - 1
    n = NEAREST_RANK_MAX_N + 1
    assert percentile([float(i) for i in range(n)], 0.99) < n - 1
