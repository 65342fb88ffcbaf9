"""Scenario 2's configuration and verdict: the Quix contender is off at tiny size, the target
is judged on the median of the rounds, against Quix when it ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench import naive
from inferstream.bench.context import BenchContext
from inferstream.bench.device import choose
from inferstream.bench.pipeline import PipelineRun
from inferstream.bench.procs import BatchStats
from inferstream.bench.quix import ContenderRun
from inferstream.bench.report import Report
from inferstream.bench.scenarios import ScenarioError, config


def _round(ours_s: float, quix_s: float | None, naive_s: float, n: int = 100) -> naive.Round:
    quix = None if quix_s is None else ContenderRun(n, quix_s)
    return naive.Round(PipelineRun(n, ours_s, {}, BatchStats()), quix, ContenderRun(n, naive_s))


def test_tiny_skips_quix_and_full_runs_it() -> None:
    assert config("naive", True, {}).quix is False
    assert config("naive", False, {}).quix is True
    assert config("naive", False, {"quix": "false", "runs": "3"}).runs == 3
    with pytest.raises(ScenarioError, match="at least 1"):
        config("naive", False, {"runs": "0"})


def test_target_is_the_median_against_quix() -> None:
    report = Report("naive", "t")
    # ours/quix: 10/5 = 2.0, 10/4 = 2.5, 10/6 = 1.67 -> median 2.0 (met); ours/naive 3, 4, 5.
    rounds = [_round(5, 10, 15), _round(4, 10, 16), _round(6, 10, 30)]
    naive._targets(report, rounds, gpu=False)
    [(description, met)] = report.verdicts
    assert "Quix Streams (2.00x, median)" in description
    assert met
    assert any("per-message worker: median 4.00x over 3 round(s)" in n for n in report.notes)


def test_target_falls_back_to_the_per_message_worker_without_quix() -> None:
    report = Report("naive", "t")
    naive._targets(report, [_round(10, None, 15)], gpu=False)
    [(description, met)] = report.verdicts
    assert "naive (1.50x, median)" in description
    assert not met
    assert not any("Quix" in n for n in report.notes)


@given(st.lists(st.floats(min_value=0.5, max_value=100.0), min_size=1, max_size=7))
def test_median_verdict_matches_the_ratios(quix_seconds: list[float]) -> None:
    report = Report("naive", "t")
    naive._targets(report, [_round(1.0, s, 1.0) for s in quix_seconds], gpu=True)
    ratios = sorted(quix_seconds)  # ours takes 1 s: ours / quix = quix seconds
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    assert report.verdicts == [
        (f"ours >= 10x Quix Streams ({median:.2f}x, median)", median >= naive.TARGET_GPU)
    ]


@pytest.mark.parametrize("with_quix", [True, False])
def test_report_has_a_row_per_contender_and_round(
    with_quix: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = [_round(5, 10 if with_quix else None, 15), _round(4, 12 if with_quix else None, 16)]
    monkeypatch.setattr(naive, "_measure", lambda config, gpu, device: rounds)
    cfg = naive.Config(n=100, ablation_texts=0, quix=with_quix, runs=2)
    report = naive.run(cfg, BenchContext(choose("cpu"), tmp_path))
    [table] = report.tables
    contenders = 3 if with_quix else 2
    assert len(table.rows) == 2 * contenders
    # ours / it: 1.00 on the pipeline's rows, the contender's time over ours on the others.
    assert [row[-1] for row in table.rows[:contenders]] == (
        [1.0, 2.0, 3.0] if with_quix else [1.0, 3.0]
    )
    skipped = any("Quix Streams contender was not run" in note for note in report.notes)
    assert skipped is not with_quix
