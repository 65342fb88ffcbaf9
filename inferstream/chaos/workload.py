"""Workload for chaos runs and load tests: bug reports from any JSONL file, cycled to any count.

A line is a bare payload or an envelope (an object with a ``payload`` object). Each is checked
with the pipeline's own enrich step, so the workload's valid reports are exactly those the
pipeline must turn into rows; lines it would reject are skipped (and counted), no labels needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from inferstream.plugins import load_plugin
from inferstream.schemas import build_envelope, encode, make_headers
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.records import Emit, InRecord

TASK = "bug_report"


class WorkloadError(ValueError):
    """The examples file cannot give a workload (one line for the user, no traceback)."""


@dataclass(frozen=True)
class Examples:
    payloads: list[dict[str, Any]]  # the reports the pipeline accepts, in file order
    skipped: int  # lines it would reject (not JSON, not a report, refused by enrich)


def load_examples(path: Path) -> Examples:
    """The valid bug reports of a JSONL file; WorkloadError when there are none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise WorkloadError(f"cannot read {path}: {err}") from err
    enrich = EnrichLogic(load_plugin(TASK))
    payloads: list[dict[str, Any]] = []
    skipped = 0
    for line in lines:
        if not line.strip():
            continue
        payload = _payload_of(line)
        if payload is not None and _accepted(enrich, payload):
            payloads.append(payload)
        else:
            skipped += 1
    if not payloads:
        raise WorkloadError(
            f"{path}: no valid bug report among {skipped} line(s) (expected JSONL of bug-report "
            "payloads or envelopes with a 'payload' object)"
        )
    return Examples(payloads, skipped)


def _payload_of(line: str) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("payload"), dict):
        return dict(doc["payload"])  # an envelope
    return dict(doc) if isinstance(doc, dict) else None


def _accepted(enrich: EnrichLogic, payload: dict[str, Any]) -> bool:
    """Would the pipeline's enrich step emit it (schema and the task's own rules)?"""
    try:
        envelope = build_envelope(TASK, payload, source="chaos-check")
    except ValidationError:
        return False
    record = InRecord(
        topic=f"submissions.{TASK}",
        partition=0,
        offset=0,
        key=envelope.submission_id.encode(),
        value=encode(envelope),
        headers=tuple(make_headers(1)),
    )
    return isinstance(enrich.enrich_one(record), Emit)


def example_payloads(examples: Path | Examples, n: int) -> list[dict[str, Any]]:
    """n payloads from the example file's valid reports; later rounds are lightly reworded
    re-filings of the same reports (so duplicate detection has work to do)."""
    base = (examples if isinstance(examples, Examples) else load_examples(examples)).payloads
    out: list[dict[str, Any]] = []
    for i in range(n):
        payload = dict(base[i % len(base)])
        if i >= len(base):
            payload["description"] = f"{payload['description']} (filed again, #{i})"
        out.append(payload)
    return out
