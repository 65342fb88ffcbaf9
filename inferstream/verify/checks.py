"""The invariants `inferstream verify` checks, as a pure function over collected facts.

Nothing lost, nothing duplicated: every valid submission has exactly one Postgres row, or a
poison dead letter from the model (the only excuse: a valid record dead-lettered for any other
reason, e.g. a database error or an over-eager enrich rule, is a violation with its reason);
every row has its result message (possibly repeated, one result_id) and, where the task keeps
per-result objects, its S3 artifact; every
invalid submission is in the dead-letter table; no row without a submission; the sink's stored
offsets are at the end of what it consumed.

"Duplicated" rows cannot happen by construction (submission_id is UNIQUE, the sink inserts
ON CONFLICT DO NOTHING), so the report also shows what that absorbed: result messages per
submission as a multiset (redeliveries by infer) against the rows the sink skipped on conflict
(derived from the sink's own committed offsets), and checks that the two agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inferstream.topology import DEADLETTER_TOPIC
from inferstream.verify.archive import ArchiveFacts, check_archive


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
    stage: str = "enrich"
    kind: str = "rejected"  # rejected | poison

    @property
    def excuses_a_valid_submission(self) -> bool:
        """Only the model's rejection of a record (isolated by bisection in infer) stands in
        for a row; a sink 'poison' is Postgres refusing a row, which is a fault of ours."""
        return self.kind == "poison" and self.stage == "infer"


@dataclass(frozen=True)
class Facts:
    published: list[Published]
    rows: list[Row]
    # submission_id -> result_ids on the results topic, one entry per message (a multiset).
    result_messages: Mapping[str, list[str]]
    dead_letters: list[DeadLetter]
    # result_ids with a per-result S3 artifact; None: not checked (the sink writes no object
    # per result any more; the results lake is the archive stage's, checked on its own).
    artifacts: set[str] | None
    stored_offsets: Mapping[tuple[str, int], int]  # sink's next offsets
    end_offsets: Mapping[tuple[str, int], int]  # last consumed offset + 1 per partition
    # submission_id -> result messages below the sink's committed offsets: each was offered to
    # INSERT ... ON CONFLICT DO NOTHING exactly once in a committed transaction. None: the
    # collector did not tell (then every message counts as consumed).
    sink_consumed: Mapping[str, int] | None = None
    # The results lake (inferstream.verify.archive); None: not checked.
    archive: ArchiveFacts | None = None


LOST = "lost (valid submission without a row)"
DEAD_VALID = "valid submission dead-lettered (not a model poison)"
DUPLICATED = "duplicated (more than one row)"
ABSORBED = "redeliveries and sink conflict skips disagree"
CHECKS = (
    LOST,
    DEAD_VALID,
    DUPLICATED,
    "orphan (row without a submission)",
    "row without its result message",
    "several result_ids for one submission",
    ABSORBED,
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
    every_valid = {p.submission_id for p in facts.published if p.valid and p.submission_id}
    valid = {
        p.submission_id
        for p in facts.published
        if p.valid and p.submission_id and (since is None or p.source == since)
    }
    invalid = [p for p in facts.published if not p.valid]
    rows = [r for r in facts.rows if since is None or r.submission_id in valid]
    v: dict[str, list[str]] = {name: [] for name in CHECKS}
    _accounting(facts, valid, rows, v)
    v["orphan (row without a submission)"] = sorted(
        {r.submission_id for r in facts.rows} - every_valid
    )
    _messages_and_artifacts(facts, rows, v)
    redelivered, skipped = _absorbed(facts, rows, v)
    _dead_letters_of_invalid(facts, invalid, v)
    _offsets(facts, v)
    report = Report()
    report.counts = {
        "published (valid)": len(valid),
        "published (invalid)": len(invalid),
        "rows": len(rows),
        "result messages": sum(len(facts.result_messages.get(s, ())) for s in valid),
        "redelivered result messages (absorbed)": redelivered,
        "rows skipped on conflict by the sink": skipped,
        "dead letters": len(facts.dead_letters),
        "poison dead letters (model)": sum(
            1 for d in facts.dead_letters if d.excuses_a_valid_submission
        ),
    }
    report.violations = dict(v)
    if facts.archive is not None:
        archive_counts, archive_violations = check_archive(facts.archive)
        report.counts.update(archive_counts)
        report.violations.update(archive_violations)
    return report


def _accounting(facts: Facts, valid: set[str], rows: list[Row], v: dict[str, list[str]]) -> None:
    """Each valid submission: exactly one row, or a model poison dead letter."""
    per_submission = Counter(r.submission_id for r in rows)
    excused = {d.submission_id for d in facts.dead_letters if d.excuses_a_valid_submission}
    other_dead: dict[str, DeadLetter] = {}
    for d in facts.dead_letters:
        if d.submission_id and not d.excuses_a_valid_submission:
            other_dead.setdefault(d.submission_id, d)
    missing = valid - set(per_submission) - excused
    v[LOST] = sorted(missing - set(other_dead))
    v[DEAD_VALID] = [
        f"{sid} ({other_dead[sid].stage}/{other_dead[sid].kind}: {other_dead[sid].reason[:120]})"
        for sid in sorted(missing & set(other_dead))
    ]
    v[DUPLICATED] = sorted(s for s, n in per_submission.items() if n > 1)


def _messages_and_artifacts(facts: Facts, rows: list[Row], v: dict[str, list[str]]) -> None:
    for row in rows:
        ids = set(facts.result_messages.get(row.submission_id, ()))
        if row.result_id not in ids:
            v["row without its result message"].append(row.submission_id)
        elif len(ids) > 1:
            v["several result_ids for one submission"].append(row.submission_id)
        if facts.artifacts is not None and row.result_id not in facts.artifacts:
            v["row without its S3 artifact"].append(row.submission_id)


def _absorbed(facts: Facts, rows: list[Row], v: dict[str, list[str]]) -> tuple[int, int]:
    """(redelivered result messages, rows the sink skipped on conflict) over the rows' submissions.

    Redeliveries come from the topic (a submission's messages beyond its first); skips from the
    sink's committed offsets (messages it consumed beyond the one row each submission has).
    They agree only if every consumed message was inserted or absorbed: a row the sink wrote
    without consuming its message, or a message it consumed without a row, shows here."""
    redelivered = skipped = 0
    for row in {r.submission_id: r for r in rows}.values():
        on_topic = len(facts.result_messages.get(row.submission_id, ()))
        consumed = on_topic
        if facts.sink_consumed is not None:
            consumed = facts.sink_consumed.get(row.submission_id, 0)
        redelivered += max(0, on_topic - 1)
        skipped += max(0, consumed - 1)
        if on_topic and consumed != on_topic:  # no message at all is reported above
            v[ABSORBED].append(f"{row.submission_id} ({on_topic} on the topic, {consumed} sunk)")
    return redelivered, skipped


def _dead_letters_of_invalid(
    facts: Facts, invalid: list[Published], v: dict[str, list[str]]
) -> None:
    dead = {
        (d.original_topic, d.original_partition, d.original_offset): d for d in facts.dead_letters
    }
    for p in invalid:
        entry = dead.get((p.topic, p.partition, p.offset))
        if entry is None or not entry.reason:
            v["invalid submission not dead-lettered"].append(f"{p.topic}:{p.partition}:{p.offset}")


def _offsets(facts: Facts, v: dict[str, list[str]]) -> None:
    for position, end in sorted(facts.end_offsets.items()):
        stored = facts.stored_offsets.get(position)
        # The shared dead-letter topic's end is that of this task's own dead letters, so the
        # sink may legitimately be past it (other tasks' records); never behind it.
        if stored is None or (stored < end if position[0] == DEADLETTER_TOPIC else stored != end):
            v["sink offset not at the end"].append(f"{position[0]}:{position[1]} {stored} != {end}")


def merge_result_ids(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """submission_id -> every result_id read for it, repeats kept (a multiset)."""
    merged: dict[str, list[str]] = defaultdict(list)
    for submission_id, result_id in pairs:
        merged[submission_id].append(result_id)
    return dict(merged)
