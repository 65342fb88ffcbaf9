"""The invariants `inferstream verify` checks, as a pure function over collected facts.

Nothing lost, nothing duplicated: every valid submission has exactly one Postgres row; every
row has its result message (possibly repeated, one result_id) and its S3 artifact; every
invalid submission is in the dead-letter table; no row without a submission; the sink's stored
offsets are at the end of what it consumed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inferstream.topology import DEADLETTER_TOPIC


@dataclass(frozen=True)
class Published:
    submission_id: str | None  # None when the record could not be decoded at all
    topic: str
    partition: int
    offset: int
    valid: bool
    source: str | None = None  # the envelope's source (a run id for chaos and load runs)


@dataclass(frozen=True)
class Row:
    submission_id: str
    result_id: str


@dataclass(frozen=True)
class DeadLetter:
    submission_id: str | None
    original_topic: str
    original_partition: int
    original_offset: int
    reason: str


@dataclass(frozen=True)
class Facts:
    published: list[Published]
    rows: list[Row]
    result_messages: Mapping[str, set[str]]  # submission_id -> result_ids on the topic
    dead_letters: list[DeadLetter]
    artifacts: set[str]  # result_ids with an S3 artifact
    stored_offsets: Mapping[tuple[str, int], int]  # sink's next offsets
    end_offsets: Mapping[tuple[str, int], int]  # last consumed offset + 1 per partition


CHECKS = (
    "lost (valid submission without a row)",
    "duplicated (more than one row)",
    "orphan (row without a submission)",
    "row without its result message",
    "several result_ids for one submission",
    "row without its S3 artifact",
    "invalid submission not dead-lettered",
    "sink offset not at the end",
)


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CHECKS})

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())


def check(facts: Facts, since: str | None = None) -> Report:
    """All invariants; with ``since`` (a run id = the envelopes' source), the per-submission
    checks cover only that run's submissions (orphans, dead letters of undecodable records and
    offsets are always checked over everything)."""
    report = Report()
    every_valid = {p.submission_id for p in facts.published if p.valid and p.submission_id}
    valid = {
        p.submission_id
        for p in facts.published
        if p.valid and p.submission_id and (since is None or p.source == since)
    }
    invalid = [p for p in facts.published if not p.valid]
    rows = [r for r in facts.rows if since is None or r.submission_id in valid]
    per_submission = Counter(r.submission_id for r in rows)
    report.counts = {
        "published (valid)": len(valid),
        "published (invalid)": len(invalid),
        "rows": len(rows),
        "result messages": sum(len(v) for v in facts.result_messages.values()),
        "dead letters": len(facts.dead_letters),
    }
    v: dict[str, list[str]] = {name: [] for name in CHECKS}
    # A valid submission that a later stage dead-lettered (e.g. a poison record) is accounted
    # for: it is in the dead-letter table with its reason.
    dead_ids = {d.submission_id for d in facts.dead_letters if d.submission_id}
    v["lost (valid submission without a row)"] = sorted(valid - set(per_submission) - dead_ids)
    v["duplicated (more than one row)"] = sorted(s for s, n in per_submission.items() if n > 1)
    every_row = {r.submission_id for r in facts.rows}
    v["orphan (row without a submission)"] = sorted(every_row - every_valid)
    for row in rows:
        ids = facts.result_messages.get(row.submission_id, set())
        if row.result_id not in ids:
            v["row without its result message"].append(row.submission_id)
        elif len(ids) > 1:
            v["several result_ids for one submission"].append(row.submission_id)
        if row.result_id not in facts.artifacts:
            v["row without its S3 artifact"].append(row.submission_id)
    dead = {
        (d.original_topic, d.original_partition, d.original_offset): d for d in facts.dead_letters
    }
    for p in invalid:
        entry = dead.get((p.topic, p.partition, p.offset))
        if entry is None or not entry.reason:
            v["invalid submission not dead-lettered"].append(f"{p.topic}:{p.partition}:{p.offset}")
    for position, end in sorted(facts.end_offsets.items()):
        stored = facts.stored_offsets.get(position)
        # The shared dead-letter topic's end is that of this task's own dead letters, so the
        # sink may legitimately be past it (other tasks' records); never behind it.
        if stored is None or (stored < end if position[0] == DEADLETTER_TOPIC else stored != end):
            v["sink offset not at the end"].append(f"{position[0]}:{position[1]} {stored} != {end}")
    report.violations = dict(v)
    return report


def merge_result_ids(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = defaultdict(set)
    for submission_id, result_id in pairs:
        merged[submission_id].add(result_id)
    return dict(merged)
