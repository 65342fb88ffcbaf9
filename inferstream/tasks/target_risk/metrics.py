"""Seed 000 (BugPredict AI) metric names for the target_risk task."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ANALYSES = Counter(
    "bugpredict_analysis_total", "Target analyses performed, by risk level.", ["risk_level"]
)
# Per target: the batch's model time divided over its targets (analyses run batched).
DURATION = Histogram(
    "bugpredict_analysis_duration_seconds",
    "Analysis duration in seconds (model time per target).",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
