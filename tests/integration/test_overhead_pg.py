"""`bench overhead`'s postgres row on a real Postgres (the session's stack): the bench driver's
own backend is taken out of the row and put on the driver's line, every other backend (one that
exits inside the window too) stays in it, and the split adds up to the row."""

from __future__ import annotations

import time

import psycopg
import pytest
from _stack import Stack

from inferstream.bench import overhead_pg, proctimes
from inferstream.bench.harness import BenchError
from inferstream.stack.servers import pg_pid_from_datadir

# A query that keeps its backend on a CPU for a few hundred ms, far above /proc's 10 ms tick.
BURN = "SELECT count(*) FROM generate_series(1, 4000000)"


def backend_seconds(conn: psycopg.Connection[tuple[object, ...]]) -> float:
    stat = proctimes.read_stat(proctimes.PROC / str(conn.info.backend_pid) / "stat")
    assert stat is not None
    return stat.own


def test_driver_backend_out_of_the_row_and_the_split_sums(stack: Stack) -> None:
    postmaster = pg_pid_from_datadir(stack.data_dir)
    assert postmaster is not None
    conninfo = stack.postgres.conninfo()
    with (
        psycopg.connect(conninfo, autocommit=True, application_name="driver") as driver,
        psycopg.connect(conninfo, autocommit=True) as other,
    ):
        sampler = overhead_pg.PgSampler(postmaster, driver.info.backend_pid)
        driver_before, other_before = backend_seconds(driver), backend_seconds(other)
        sampler.start()
        driver.execute(BURN)
        other.execute(BURN)
        sampler.sample()
        with psycopg.connect(conninfo, autocommit=True) as brief:  # born and gone in the window
            brief.execute(BURN)
            sampler.sample()
            brief_cpu = backend_seconds(brief)
        sampler.stop()
        driver_cpu = backend_seconds(driver) - driver_before
        other_cpu = backend_seconds(other) - other_before
        share = sampler.share({other.info.backend_pid: "SELECT 1"})
    assert driver_cpu > 0.1 and other_cpu > 0.1 and brief_cpu > 0.1
    # The driver's backend, all of it and nothing else, is on the driver's side.
    assert share.driver_backend == pytest.approx(driver_cpu, abs=0.02)
    # The others are in the row: the live one and the exited one up to its last reading.
    assert share.split[overhead_pg.OTHERS] >= other_cpu + brief_cpu - 0.02
    assert share.row >= other_cpu + brief_cpu - 0.02
    assert sum(share.split.values()) == pytest.approx(share.row)
    # Had the driver's backend stayed in the row, it would sit in the remainder.
    assert -0.02 <= share.split[overhead_pg.POSTMASTER] < 0.5 * driver_cpu
    assert share.split[overhead_pg.SINK] == 0.0  # no client wrote results


def test_a_driver_connection_that_ends_in_the_window_is_refused(stack: Stack) -> None:
    # Its CPU would be in the postmaster's cutime, beyond telling apart: the run fails.
    postmaster = pg_pid_from_datadir(stack.data_dir)
    assert postmaster is not None
    conn = psycopg.connect(stack.postgres.conninfo(), autocommit=True)
    sampler = overhead_pg.PgSampler(postmaster, conn.info.backend_pid)
    sampler.start()
    pid = conn.info.backend_pid
    conn.close()
    deadline = time.monotonic() + 10
    while pid in overhead_pg.children(postmaster):  # it exits shortly after the client closes
        assert time.monotonic() < deadline, f"backend {pid} still running"
        time.sleep(0.02)
    with pytest.raises(BenchError, match="ended inside the window"):
        sampler.stop()
