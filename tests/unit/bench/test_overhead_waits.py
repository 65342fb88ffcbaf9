"""`bench overhead`'s wait for a CPU: schedstat read per thread, grouped like the CPU split, and
the busiest thread named in the report (what bounds the rate, and whether the load did)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from _report_cells import cells

from inferstream.bench import overhead, procs, proctimes, threads
from inferstream.bench.overhead_run import OverheadRun

RUN = "run: process step, outputs durable"
MAIN = "main: poll, decode to records, commit"


def test_parse_schedstat_reads_the_run_queue_wait() -> None:
    assert proctimes.parse_schedstat("539831 24995358 6\n") == pytest.approx(0.024995358)
    with pytest.raises(IndexError):
        proctimes.parse_schedstat("539831")


def test_thread_waits_of_this_process() -> None:
    spinning = threading.Event()

    def spin() -> None:
        deadline = time.monotonic() + 0.2
        spinning.set()
        while time.monotonic() < deadline:
            pass

    thread = threading.Thread(target=spin)
    thread.start()
    spinning.wait(5)
    found = proctimes.thread_waits(os.getpid())
    thread.join()
    if not Path("/proc/self/task", str(os.getpid()), "schedstat").exists():
        assert found == {}  # a kernel without schedstat: no figure rather than a wrong one
        return
    assert os.getpid() in found and thread.native_id in found
    assert all(seconds >= 0 for seconds in found.values())
    assert proctimes.thread_waits(0) == {}  # no such process


def test_waits_are_grouped_like_the_cpu_split() -> None:
    pid = 10
    comms = {10: ("python", 5.0), 11: ("python", 9.0), 12: ("rdk:broker1", 1.0)}
    names = {10: "MainThread", 11: "run"}
    before = {10: 1.0, 11: 2.0, 12: 0.5}
    after = {10: 1.5, 11: 6.0, 12: 0.75, 13: 0.25}  # 13 started in the window
    grouped = threads.waits(pid, before, after, comms, names)
    assert grouped[MAIN] == pytest.approx(0.5)
    assert grouped[RUN] == pytest.approx(4.0)
    assert grouped[threads.RDKAFKA] == pytest.approx(0.25)
    assert grouped[threads.OTHER] == pytest.approx(0.25)
    unnamed = threads.waits(pid, before, after, comms, {})
    assert unnamed[threads.PYTHON_UNNAMED] == pytest.approx(4.5)


def made_up(waits: dict[str, dict[str, float]]) -> OverheadRun:
    return OverheadRun(
        records=1_000,
        seconds=10.0,
        window_s=10.0,
        cpu={"enrich-0": 1.0, "infer-0": 3.0},
        driver=0.5,
        splits={"enrich-0": {RUN: 1.0}, "infer-0": {RUN: 2.5, MAIN: 0.5}},
        waits=waits,
        batches={"infer": procs.BatchStats(batches=4, records=1_000, fill_sum=2.0)},
    )


def test_the_busiest_thread_is_named_with_its_wait() -> None:
    run = made_up({"enrich-0": {RUN: 4.0}, "infer-0": {RUN: 6.0, MAIN: 0.1}})
    assert overhead.busiest(run) == ("infer-0", RUN, 2.5, 6.0)
    report = overhead.build_report(run, overhead.Config())
    text = report.markdown()
    assert any(
        "busiest thread: infer-0 run, busy 85% of the window: 25% on a CPU, 60% waiting" in note
        for note in report.notes
    )
    row = cells(text, RUN)  # enrich-0's table comes first
    assert row[4:] == ["4.00", "50%"]


def test_no_waits_no_busiest_and_na_columns() -> None:
    run = made_up({})
    assert overhead.busiest(run) is None
    report = overhead.build_report(run, overhead.Config())
    assert not any(note.startswith("busiest thread") for note in report.notes)
    assert cells(report.markdown(), RUN)[4:] == ["n/a", "n/a"]
