"""The benchmarks page keeps the latest run of each scenario and device: appending a run moves
the page's earlier run of the same scenario and device kind to history/<YYYY-MM>.md."""

from __future__ import annotations

from pathlib import Path

from inferstream.bench.history import retire_earlier_runs, split_runs
from inferstream.bench.report import Report

PAGE = """# Benchmarks

Hand-written summary; it cites the ### 2026-11-26 run below, as prose.

## Runs: the latest of each scenario

### 2026-11-26 13:03 UTC · e2e: whole pipeline vs bare model

- machine: 16 cores, GPU NVIDIA H200; device: cuda (CUDAExecutionProvider)

| a | b |
|---|---|
| 1 | 2 |

### 2026-11-26 13:07 UTC · e2e: whole pipeline vs bare model

- machine: 2 cores (AMD EPYC); device: cpu (CPUExecutionProvider)
- a note

![e2e](benchmarks/plot.png)

### 2026-12-06 09:43 UTC · broker: embedded broker storage engines

- machine: 2 cores (AMD EPYC); device: cpu
"""


def test_only_runs_of_the_same_scenario_and_device_kind_move() -> None:
    kept, moved = split_runs(PAGE.split("\n"), "e2e", "cpu")
    assert [section[0] for section in moved] == [
        "### 2026-11-26 13:07 UTC · e2e: whole pipeline vs bare model"
    ]
    text = "\n".join(kept)
    assert "13:03 UTC · e2e" in text  # the GPU run is the latest of its device
    assert "13:07 UTC · e2e" not in text and "- a note" not in text
    assert "09:43 UTC · broker" in text and text.startswith("# Benchmarks\n\nHand-written")
    assert "\n".join(kept + moved[0]).count("\n") == PAGE.count("\n")  # no line lost


def test_appending_a_run_moves_the_earlier_one_to_its_month(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    page.write_text(PAGE)
    Report("e2e", "whole pipeline vs bare model", device="cpu (CPUExecutionProvider)").append_to(
        page
    )
    text = page.read_text()
    assert text.count("· e2e:") == 2  # the GPU run and the new CPU run
    assert "13:07 UTC · e2e" not in text
    history = (tmp_path / "docs" / "benchmarks" / "history" / "2026-11.md").read_text()
    assert history.startswith("# Benchmark history, 2026-11\n")
    assert "](../../benchmarks.md)" in history  # the title links back to the page
    assert "### 2026-11-26 13:07 UTC · e2e" in history and "- a note" in history
    assert "](../plot.png)" in history  # the moved section's links resolve from the history
    Report("broker", "embedded broker storage engines").append_to(page)
    assert "09:43 UTC · broker" not in page.read_text()
    december = tmp_path / "docs" / "benchmarks" / "history" / "2026-12.md"
    assert "### 2026-12-06 09:43 UTC · broker" in december.read_text()


def test_a_page_without_earlier_runs_is_unchanged(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    assert retire_earlier_runs(page, PAGE, "latency", "cpu") == PAGE
    assert not (tmp_path / "benchmarks").exists()
