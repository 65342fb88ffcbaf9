"""`bench overhead`'s report: a row per process, per-record figures that add up, the verdicts
read on the total, and the scenario's options."""

from __future__ import annotations

import pytest
from _report_cells import cells
from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench import overhead, procs
from inferstream.bench.overhead_run import OverheadRun
from inferstream.bench.scenarios import ScenarioError, config

PROCESSES = ["enrich-0", "infer-0", "sink-0", "kafka (tansu)", "postgres", "s3 (seaweedfs)"]


def made_up(records: int, cpu: dict[str, float]) -> OverheadRun:
    return OverheadRun(
        records=records,
        seconds=10.0,
        window_s=11.0,
        cpu=cpu,
        driver=1.5,
        splits={"infer-0": {"run: process step, outputs durable": cpu["infer-0"]}},
        batches={"infer": procs.BatchStats(batches=4, records=records, fill_sum=2.0)},
    )


@given(
    records=st.integers(1, 10**6),
    seconds=st.lists(st.floats(0.001, 1000.0), min_size=len(PROCESSES), max_size=len(PROCESSES)),
)
def test_a_row_per_process_and_a_total(records: int, seconds: list[float]) -> None:
    run = made_up(records, dict(zip(PROCESSES, seconds, strict=True)))
    text = overhead.build_report(run, overhead.Config()).markdown()
    for name in PROCESSES:
        assert cells(text, name)[0] == name
    total_ms = 1000 * sum(seconds) / records
    assert run.ms_per_record(run.total) == pytest.approx(total_ms)
    assert cells(text, "**total (pipeline)**")[3] == "100%"
    assert "inside infer-0" in text and "mean batch" in text


def test_verdicts_are_read_on_the_total() -> None:
    cheap = made_up(10_000, dict.fromkeys(PROCESSES, 0.5))  # 3 s / 10k = 0.3 ms
    verdicts = overhead.build_report(cheap, overhead.Config()).verdicts
    assert [met for _, met in verdicts] == [True, True]
    middling = made_up(10_000, dict.fromkeys(PROCESSES, 1.0))  # 0.6 ms
    verdicts = overhead.build_report(middling, overhead.Config()).verdicts
    assert [met for _, met in verdicts] == [True, False]
    assert "0.60 ms" in verdicts[1][0]
    costly = made_up(1_000, dict.fromkeys(PROCESSES, 1.0))  # 6 ms
    assert not any(met for _, met in overhead.build_report(costly, overhead.Config()).verdicts)


def test_rate_counts_the_timed_records() -> None:
    run = made_up(20_000, dict.fromkeys(PROCESSES, 1.0))
    assert run.rate == pytest.approx(2_000.0)


def test_options() -> None:
    full, tiny = config("overhead", False, {}), config("overhead", True, {})
    assert full.n >= 20_000 and tiny.n < 1_000
    assert full.replicas == {"enrich": 1, "infer": 1, "sink": 1}
    assert config("overhead", False, {"n": "5000", "infer": "2"}).replicas["infer"] == 2
    with pytest.raises(ScenarioError, match="not an option of overhead"):
        config("overhead", False, {"model": "x"})
