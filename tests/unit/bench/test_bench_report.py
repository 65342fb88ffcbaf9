"""The report pieces every benchmark prints and appends: percentiles, tables, dated sections."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench.report import Report, Table, fmt, percentile

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=200), st.floats(min_value=0, max_value=1))
def test_percentile_is_a_member_within_bounds(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert p in values
    assert min(values) <= p <= max(values)


@given(st.lists(finite, min_size=1, max_size=200), st.floats(0, 1), st.floats(0, 1))
def test_percentile_is_monotone_in_q(values: list[float], a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert percentile(values, lo) <= percentile(values, hi)


def test_percentile_ends_and_empty() -> None:
    values = [3.0, 1.0, 2.0]
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 3.0
    assert percentile(values, 0.5) == 2.0
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN


@given(st.lists(st.lists(st.integers(0, 10**6), min_size=3, max_size=3), max_size=20))
def test_table_markdown_has_one_line_per_row(rows: list[list[int]]) -> None:
    table = Table(["a", "b", "c"])
    for row in rows:
        table.add(*row)
    lines = table.markdown().splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.count("|") == 4 for line in lines)


def test_fmt_rounds_by_magnitude() -> None:
    assert fmt(12345.6) == "12,346"
    assert fmt(12.345) == "12.3"
    assert fmt(1.2345) == "1.23"
    assert fmt(0.01234) == "0.012"
    assert fmt(float("nan")) == "n/a"
    assert fmt("x") == "x"


def test_report_appends_dated_sections(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"
    first = Report("e2e", "first")
    first.table(["k", "v"]).add("rate", 1.5)
    first.target("something", True)
    first.append_to(doc)
    second = Report("sink", "second")
    second.notes.append("a note")
    second.images.append(tmp_path / "docs" / "benchmarks" / "plot.png")
    second.append_to(doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert text.index("e2e: first") < text.index("sink: second")
    assert "| rate | 1.50 |" in text
    assert "target something: **met**" in text
    assert "- machine: " in text and "- versions: Python" in text and "- command: `" in text
    assert "load average" in text
    assert "(benchmarks/plot.png)" in text  # relative to the doc
