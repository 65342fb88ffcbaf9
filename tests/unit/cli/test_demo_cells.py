"""The demo tables' latency and throughput cells: a second demo on the same data dir writes no
row (its submission ids are stored already) and says so, rather than "nan s" and "0.0"."""

from __future__ import annotations

from inferstream.cli.demo_tasks import NO_NEW_ROWS, latency_cell, throughput_cell


def test_no_row_written_by_this_run_is_said_so() -> None:
    assert latency_cell([], 0.5) == NO_NEW_ROWS
    assert throughput_cell(0, 12.0) == NO_NEW_ROWS
    assert "nan" not in NO_NEW_ROWS


def test_quantiles_and_rate_of_this_runs_rows() -> None:
    values = [3.0, 1.0, 2.0, 10.0, 4.0]
    assert latency_cell(values, 0.0) == "1.00 s"
    assert latency_cell(values, 0.5) == "3.00 s"
    assert latency_cell(values, 0.95) == "10.00 s"
    assert throughput_cell(10, 4.0) == "2.5 submissions/s"
