"""Keep the benchmarks page at the latest run of each scenario and device.

Before a new run's section is appended to docs/benchmarks.md, the page's earlier runs of the
same scenario on the same kind of device move, as they were written, to
docs/benchmarks/history/<YYYY-MM>.md (the month of each run), oldest first. The hand-written
summary and analysis are never touched: only the dated sections the tool itself writes
(`### YYYY-MM-DD HH:MM UTC · <scenario>: ...`) are moved.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

RUN_HEADING = re.compile(r"^### (\d{4}-\d{2})-\d{2} \d{2}:\d{2} UTC · ([\w-]+): ")
DEVICE = re.compile(r"^- machine: .*; device: (\w+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _device(section: list[str]) -> str:
    for line in section:
        found = DEVICE.match(line)
        if found:
            return found.group(1)
    return ""


def split_runs(lines: list[str], scenario: str, device: str) -> tuple[list[str], list[list[str]]]:
    """The page's lines without the runs of (scenario, device kind), and those runs."""
    kept: list[str] = []
    moved: list[list[str]] = []
    section: list[str] | None = None
    for line in [*lines, "#"]:  # a sentinel heading closes the last section
        if section is not None and line.startswith("#"):
            if _device(section) == device:
                moved.append(section)
            else:  # the same scenario on another kind of device stays: it is its latest
                kept.extend(section)
            section = None
        found = RUN_HEADING.match(line)
        if found and found.group(2) == scenario:
            section = [line]
        elif section is not None:
            section.append(line)
        else:
            kept.append(line)
    return kept[:-1], moved


def _relink(section: list[str], page_dir: Path, history_dir: Path) -> list[str]:
    """Rewrite the page-relative links of a moved section so they resolve from the history."""

    def fix(match: re.Match[str]) -> str:
        target = match.group(1)
        if re.match(r"^(\w+:|/|#)", target):
            return match.group(0)
        return f"]({os.path.relpath(page_dir / target, history_dir)})"

    return [LINK.sub(fix, line) for line in section]


def _history_file(history_dir: Path, month: str, page: Path) -> Path:
    path = history_dir / f"{month}.md"
    if not path.is_file():
        history_dir.mkdir(parents=True, exist_ok=True)
        back = os.path.relpath(page, history_dir)
        path.write_text(
            f"# Benchmark history, {month}\n\nRuns of [{page.name}]({back}) that a later run of"
            " the same scenario superseded, as they were written, oldest first.\n",
            encoding="utf-8",
        )
    return path


def retire_earlier_runs(page: Path, text: str, scenario: str, device: str) -> str:
    """Move the page's earlier runs of ``scenario`` on ``device`` to the history; the new text."""
    kind = device.split()[0] if device.split() else device
    kept, moved = split_runs(text.split("\n"), scenario, kind)
    history_dir = page.parent / page.stem / "history"
    for section in moved:
        month = RUN_HEADING.match(section[0])
        assert month is not None  # split_runs only moves sections that start with a run heading
        body = "\n".join(_relink(section, page.parent, history_dir)).strip()
        path = _history_file(history_dir, month.group(1), page)
        path.write_text(path.read_text(encoding="utf-8").rstrip() + "\n\n" + body + "\n")
    return "\n".join(kept)
