"""`inferstream eval dedup --from-feedback`: the model's duplicate verdicts against reviewers'.

Reads ``feedback.bug_report`` from its first record to its end (no consumer group: nothing is
committed), keeps each submission's latest decision, and reports how the model's verdicts
fared: of the reports it flagged, how many reviewers confirmed (with the original it proposed),
sent to another original, or cleared. ``--labels-out`` writes the decisions as a labels file
(duplicate groups, near-miss pairs) for ``inferstream eval dedup FILE --labels ... --calibrate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
import typer
from confluent_kafka import KafkaException

from inferstream.readback import TopicMissing, read_all
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.topology import feedback_topic

TOPIC = feedback_topic("bug_report")
READ_TIMEOUT_S = 30.0
_FLAGS = ("duplicate", "possible_duplicate")


class FeedbackReadError(RuntimeError):
    """The topic could not be read to its end in time."""


def read_feedback(kafka: KafkaSettings, timeout_s: float = READ_TIMEOUT_S) -> list[dict[str, Any]]:
    """Every decision record on the topic now, in partition order (undecodable ones skipped),
    read to its end as verify reads topics (not by the listed watermarks: the embedded broker
    (Tansu) answered ListOffsets with a high watermark of 1 for a partition holding 4 records in
    one batch, while its fetches report the end correctly)."""
    try:
        return [
            value
            for msg in read_all(kafka, TOPIC, timeout_s)
            if (value := _decision(msg.value())) is not None
        ]
    except TopicMissing:
        msg = f"topic {TOPIC} is not there: run `inferstream topology apply`"
        raise FeedbackReadError(msg) from None
    except TimeoutError:
        raise FeedbackReadError(f"{TOPIC} not read to its end in time") from None


def _decision(raw: bytes | None) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict) and "submission_id" in value and "decision" in value:
        return value
    return None


def latest(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each submission's latest decision (records arrive in order within a partition, and a
    submission's decisions share its partition; review_id breaks ties across a re-read)."""
    out: dict[str, Mapping[str, Any]] = {}
    for record in records:
        sid = str(record["submission_id"])
        if sid not in out or int(record.get("review_id", 0)) >= int(out[sid].get("review_id", 0)):
            out[sid] = record
    return out


@dataclass(frozen=True)
class FeedbackSummary:
    decisions: int
    # (model status, decision) -> count
    outcomes: Mapping[tuple[str, str], int]

    def flagged(self, status: str) -> int:
        return sum(n for (s, _), n in self.outcomes.items() if s == status)

    def share(self, status: str, decision: str) -> float:
        total = self.flagged(status)
        return self.outcomes.get((status, decision), 0) / total if total else float("nan")


def summarise(decisions: Mapping[str, Mapping[str, Any]]) -> FeedbackSummary:
    outcomes = Counter((str(r["model_status"]), str(r["decision"])) for r in decisions.values())
    return FeedbackSummary(len(decisions), dict(outcomes))


def summary_lines(summary: FeedbackSummary) -> list[str]:
    lines = [f"{TOPIC}: {summary.decisions} reports decided by reviewers (latest decision each)"]
    for status in ("duplicate", "possible_duplicate", "unique"):
        n = summary.flagged(status)
        if not n:
            continue
        lines.append(
            f"  model said {status:<19} {n:>5}: confirmed {summary.share(status, 'confirm'):.3f}"
            f"  another original {summary.share(status, 'other_original'):.3f}"
            f"  not a duplicate {summary.share(status, 'not_duplicate'):.3f}"
        )
    flagged = summary.flagged("duplicate") + summary.flagged("possible_duplicate")
    if flagged:
        right = sum(summary.outcomes.get((s, "confirm"), 0) for s in _FLAGS)
        dup = right + sum(summary.outcomes.get((s, "other_original"), 0) for s in _FLAGS)
        lines.append(
            f"  precision of the flags (a duplicate at all) {dup / flagged:.3f}, "
            f"with the right original {right / flagged:.3f} ({flagged} flagged reports)"
        )
    return lines


def labels_from(decisions: Mapping[str, Mapping[str, Any]]) -> dict[str, list[list[str]]]:
    """A labels file: confirmed and re-pointed duplicates joined into groups with their
    originals; cleared reports paired with the original the model had proposed (near misses)."""
    parent: dict[str, str] = {}

    def root(sid: str) -> str:
        while parent.setdefault(sid, sid) != sid:
            sid = parent[sid]
        return sid

    near: list[list[str]] = []
    for sid, record in sorted(decisions.items()):
        original = record.get("original_id")
        if record["decision"] != "not_duplicate" and original:
            parent[root(sid)] = root(str(original))
        elif record.get("model_duplicate_of"):
            near.append([sid, str(record["model_duplicate_of"])])
    groups: dict[str, list[str]] = {}
    for sid in sorted(parent):
        groups.setdefault(root(sid), []).append(sid)
    return {
        "duplicate_groups": [g for g in groups.values() if len(g) >= 2],
        "near_miss_pairs": _unique_pairs(near),
    }


def _unique_pairs(pairs: Sequence[list[str]]) -> list[list[str]]:
    seen: set[frozenset[str]] = set()
    out = []
    for pair in pairs:
        key = frozenset(pair)
        if len(key) == 2 and key not in seen:
            seen.add(key)
            out.append(pair)
    return out


def stored_reports(postgres: PostgresSettings, ids: Iterable[str]) -> list[bytes]:
    """The reports as `eval dedup FILE` reads them (JSON lines, arrival order), from the text
    the results table keeps (title whole, the long fields as their 4,000-character excerpts).
    Rows written before the text columns existed are left out."""
    with psycopg.connect(postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT submission_id, title, description, steps_to_reproduce, logs, product, "
            "component FROM results_bug_report WHERE submission_id = ANY(%s) "
            "AND title IS NOT NULL ORDER BY created_at, result_id",
            (sorted(set(ids)),),
        ).fetchall()
    fields = ("title", "description", "steps_to_reproduce", "logs", "product", "component")
    return [
        orjson.dumps({"submission_id": row[0], "payload": dict(zip(fields, row[1:], strict=True))})
        for row in rows
    ]


def run_from_feedback(labels_out: Path | None, reports_out: Path | None = None) -> None:
    """The CLI's --from-feedback: print the summary, write the labels and reports if asked."""
    try:
        decisions = latest(read_feedback(KafkaSettings.load()))
    except (FeedbackReadError, KafkaException) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    for line in summary_lines(summarise(decisions)):
        typer.echo(line)
    if reports_out is not None:
        named = set(decisions) | {
            str(r[k]) for r in decisions.values() for k in ("original_id", "model_duplicate_of")
            if r.get(k)
        }  # fmt: skip
        lines = stored_reports(PostgresSettings.load(), named)
        reports_out.write_bytes(b"".join(line + b"\n" for line in lines))
        typer.echo(f"reports written to {reports_out}: {len(lines)} of {len(named)} named")
    if labels_out is not None:
        labels = labels_from(decisions)
        labels_out.write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2))
        typer.echo(
            f"labels written to {labels_out}: {len(labels['duplicate_groups'])} duplicate "
            f"groups, {len(labels['near_miss_pairs'])} near-miss pairs"
        )
