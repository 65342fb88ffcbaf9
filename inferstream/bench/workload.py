"""The same texts for every contender: the example bug reports, cycled (lightly reworded)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from inferstream.chaos.workload import example_payloads
from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.quality import canonical_text

EXAMPLES = Path("examples/bug_reports.jsonl")


def examples_file() -> Path:
    """The example reports (run from the repository root, or set by --examples)."""
    if not EXAMPLES.is_file():
        raise FileNotFoundError(
            f"{EXAMPLES}: no such file (run the benchmarks from the repository root)"
        )
    return EXAMPLES


@cache
def _payloads(n: int) -> tuple[dict[str, Any], ...]:
    return tuple(example_payloads(examples_file(), n))


def payloads(n: int) -> list[dict[str, Any]]:
    return [dict(p) for p in _payloads(n)]


def texts(n: int) -> list[str]:
    """The text the pipeline embeds for each payload (enrich's canonical text)."""
    return [canonical_text(BugReportPayload.model_validate(p)) for p in _payloads(n)]
