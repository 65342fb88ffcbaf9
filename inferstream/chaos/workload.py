"""Workload for chaos runs and load tests: the example bug reports, cycled to any count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def example_payloads(examples: Path, n: int) -> list[dict[str, Any]]:
    """n payloads from the example file's valid lines; later rounds are lightly reworded
    re-filings of the same reports (so duplicate detection has work to do)."""
    labels = orjson.loads(examples.with_name("bug_reports.labels.json").read_bytes())
    invalid = {item["line"] for item in labels["invalid_lines"]}
    base = [
        orjson.loads(line)["payload"]
        for number, line in enumerate(examples.read_text().splitlines(), start=1)
        if number not in invalid
    ]
    out: list[dict[str, Any]] = []
    for i in range(n):
        payload = dict(base[i % len(base)])
        if i >= len(base):
            payload["description"] = f"{payload['description']} (filed again, #{i})"
        out.append(payload)
    return out
