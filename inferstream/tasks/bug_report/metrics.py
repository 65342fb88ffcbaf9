"""Seed 001 metric names (bug dedup) for the bug_report task."""

from __future__ import annotations

from prometheus_client import Counter

BUG_SUBMISSIONS = Counter("bug_submissions_total", "Bug reports accepted by enrich.")
LOW_QUALITY = Counter("low_quality_bugs_total", "Bug reports below the quality minimum.")
DUPLICATES = Counter(
    "duplicate_detections_total",
    "Bug reports found to be duplicates, by verdict (duplicate, possible_duplicate).",
    ["status"],
)
