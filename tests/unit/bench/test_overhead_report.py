"""`bench overhead`'s report: a row per process, per-record figures that add up, the verdicts
read on the total, and the scenario's options."""

from __future__ import annotations

import pytest
from _report_cells import cells
from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench import overhead, overhead_pg, procs
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


def test_postgres_split_and_the_drivers_backend() -> None:
    # The postgres row's parts are listed under it and sum to it; the driver's backend is on
    # the driver's line (its Python CPU plus the backend), not in the row or the total.
    cpu = dict.fromkeys(PROCESSES, 1.0)
    parts = {
        overhead_pg.SINK: 0.7,
        overhead_pg.AUTOVACUUM: 0.2,
        overhead_pg.WRITERS: 0.04,
        overhead_pg.OTHERS: 0.0,
        overhead_pg.POSTMASTER: 0.06,
    }
    run = made_up(10_000, cpu)
    run.driver_backend, run.pg_split = 0.25, parts
    text = overhead.build_report(run, overhead.Config()).markdown()
    listed = {part: float(cells(text, part)[1]) for part in parts}
    assert listed == pytest.approx(parts, abs=1e-3)
    assert sum(listed.values()) == pytest.approx(float(cells(text, "postgres")[1]), abs=1e-3)
    assert cells(text, overhead_pg.SINK)[3] == "70%"
    driver = cells(text, "bench driver (publisher, row polls, their backend; not in the total)")
    assert float(driver[1]) == pytest.approx(1.5 + 0.25)
    assert float(cells(text, "of which the driver's Postgres backend (row polls)")[1]) == 0.25
    assert float(cells(text, "**total (pipeline)**")[1]) == pytest.approx(6.0)


def test_no_postgres_split_without_readings() -> None:
    text = overhead.build_report(made_up(1_000, dict.fromkeys(PROCESSES, 1.0)), overhead.Config())
    assert "inside postgres" not in text.markdown()


@pytest.mark.parametrize(
    ("title", "part"),
    [
        ("postgres: checkpointer", overhead_pg.WRITERS),
        ("postgres: background writer", overhead_pg.WRITERS),
        ("postgres: walwriter", overhead_pg.WRITERS),
        ("postgres: autovacuum worker inferstream", overhead_pg.AUTOVACUUM),
        ("postgres: autovacuum launcher", overhead_pg.AUTOVACUUM),
        ("postgres: inferstream inferstream [local] idle", overhead_pg.OTHERS),
        ("postgres: logical replication launcher", overhead_pg.OTHERS),
    ],
)
def test_children_are_grouped_by_title(title: str, part: str) -> None:
    assert overhead_pg.kind(title) == part


def test_the_sink_is_told_by_its_statements() -> None:
    assert overhead_pg.sink_statement("COMMIT")
    assert overhead_pg.sink_statement("COPY results_bug_report (a, b) FROM STDIN (FORMAT BINARY)")
    assert not overhead_pg.sink_statement("SELECT submission_id::text FROM results_bug_report")
    assert not overhead_pg.sink_statement("")
