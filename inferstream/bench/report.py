"""What every benchmark prints and appends to docs/benchmarks.md: a dated section with the
machine, the versions, the command, the load before and after, tables and notes (the page's
earlier run of the same scenario and device moves to its history: bench/history.py)."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from inferstream.bench.history import retire_earlier_runs

VERSIONED = (
    "inferstream",
    "onnxruntime",
    "onnxruntime-gpu",
    "faiss-cpu",
    "faiss-gpu-cu12",
    "confluent-kafka",
    "psycopg",
    "numpy",
    "tokenizers",
    "torch",
    "sentence-transformers",
)

Cell = str | int | float


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions() -> str:
    found = []
    for name in VERSIONED:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join([f"Python {platform.python_version()}", *found])


def fmt(value: Cell) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    return str(value)


@dataclass
class Table:
    headers: Sequence[str]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    title: str = ""

    def add(self, *cells: Cell) -> None:
        self.rows.append(cells)

    def markdown(self) -> str:
        lines = [f"**{self.title}**", ""] if self.title else []
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Report:
    scenario: str
    title: str
    device: str = "cpu"
    gpu: str | None = None
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_start: str = field(default_factory=loadavg)
    load_end: str = ""
    verdicts: list[tuple[str, bool]] = field(default_factory=list)

    def table(self, headers: Sequence[str], title: str = "") -> Table:
        table = Table(headers, title=title)
        self.tables.append(table)
        return table

    def target(self, description: str, met: bool) -> None:
        self.verdicts.append((description, met))

    def markdown(self, doc_dir: Path | None = None) -> str:
        self.load_end = self.load_end or loadavg()
        command = "inferstream " + " ".join(sys.argv[1:]) if sys.argv[1:] else "inferstream bench"
        machine = f"{os.cpu_count()} cores ({cpu_model()})"
        if self.gpu:
            machine += f", GPU {self.gpu}"
        parts = [
            f"### {self.started:%Y-%m-%d %H:%M} UTC · {self.scenario}: {self.title}",
            "",
            f"- machine: {machine}; device: {self.device}",
            f"- versions: {versions()}",
            f"- command: `{command}`",
            f"- load average (1/5/15 min) at start: {self.load_start}; at end: {self.load_end}",
            "",
        ]
        for table in self.tables:
            parts += [table.markdown(), ""]
        for description, met in self.verdicts:
            parts.append(f"- target {description}: **{'met' if met else 'NOT met'}**")
        for note in self.notes:
            parts.append(f"- {note}")
        for image in self.images:
            rel = os.path.relpath(image, doc_dir) if doc_dir is not None else str(image)
            parts.append(f"\n![{self.scenario}]({rel})")
        return "\n".join(parts).rstrip() + "\n"

    def append_to(self, doc: Path) -> None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        text = self.markdown(doc.parent)
        existing = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
        # The page keeps the latest run of each scenario and device; earlier ones go to history.
        existing = retire_earlier_runs(doc, existing, self.scenario, self.device)
        doc.write_text(existing.rstrip() + "\n\n" + text, encoding="utf-8")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (NaN when empty)."""
    if not values:
        return float("nan")
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]
