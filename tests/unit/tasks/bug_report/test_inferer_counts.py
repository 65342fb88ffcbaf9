"""BugReportInferer counts a batch's duplicate verdicts once per status (not a labelled look-up
per result): the counter moves by the same amounts as one ``inc`` per duplicate did."""

from __future__ import annotations

from prometheus_client import REGISTRY

from inferstream.tasks.bug_report.dedup import Decision
from inferstream.tasks.bug_report.dedup.verdicts import Verdict
from inferstream.tasks.bug_report.inferer import _count_duplicates


def _count(status: str) -> float:
    value = REGISTRY.get_sample_value("duplicate_detections_total", {"status": status})
    return value or 0.0


def test_a_batch_counts_each_non_unique_verdict_once() -> None:
    statuses = ["unique", "duplicate", "possible_duplicate", "duplicate", "unique", "duplicate"]
    decisions = [Decision(Verdict(s, None if s == "unique" else "other", ())) for s in statuses]
    before = {s: _count(s) for s in ("duplicate", "possible_duplicate", "unique")}
    _count_duplicates(decisions)
    assert _count("duplicate") - before["duplicate"] == 3
    assert _count("possible_duplicate") - before["possible_duplicate"] == 1
    assert _count("unique") == before["unique"]  # unique verdicts are not counted
