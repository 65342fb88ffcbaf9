"""`bench overhead`'s /proc readings: stat parsing, process trees with reaped children, and the
per-thread split that must add up to the process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench import proctimes, threads
from inferstream.bench.proctimes import TICK, parse_stat


def stat_line(pid: int, comm: str, ppid: int, ticks: tuple[int, int, int, int]) -> str:
    fields = ["S", str(ppid), *["0"] * 9, *map(str, ticks), *["0"] * 30]
    return f"{pid} ({comm}) " + " ".join(fields)


@given(
    pid=st.integers(1, 2**22),
    ppid=st.integers(0, 2**22),
    comm=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=15),
    ticks=st.tuples(*[st.integers(0, 10**9)] * 4),
)
def test_parse_stat_survives_any_comm(
    pid: int, ppid: int, comm: str, ticks: tuple[int, int, int, int]
) -> None:
    # comm may hold spaces and parentheses: fields are read after the last ')'.
    stat = parse_stat(stat_line(pid, comm, ppid, ticks))
    assert (stat.pid, stat.comm, stat.ppid) == (pid, comm, ppid)
    assert stat.own == pytest.approx((ticks[0] + ticks[1]) / TICK)
    assert stat.reaped == pytest.approx((ticks[2] + ticks[3]) / TICK)


def test_own_stat_matches_os_times() -> None:
    stat = proctimes.read_stat(proctimes.PROC / str(os.getpid()) / "stat")
    assert stat is not None and stat.pid == os.getpid() and stat.ppid == os.getppid()
    times = os.times()
    # Both count in clock ticks; os.times may be read a tick later.
    assert abs(stat.own - (times.user + times.system)) <= 3 / TICK + 0.05
    assert proctimes.read_stat(proctimes.PROC / "0" / "stat") is None


BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def test_tree_counts_live_and_reaped_children() -> None:
    # A parent that burns 0.3 s itself in a child it reaps, then starts a second burner and
    # waits: the tree holds both children's time although the first has exited.
    script = (
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.3)!r}], check=True)\n"
        f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.3) + 'time.sleep(30)'!r}])\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while proctimes.tree_seconds(parent.pid) < 0.6:
            assert time.monotonic() < deadline, proctimes.tree_seconds(parent.pid)
            time.sleep(0.05)
        # The parent itself (an interpreter start) and its children, nothing else.
        assert proctimes.tree_seconds(parent.pid) < 5.0
    finally:
        parent.kill()
        parent.wait()
    assert proctimes.tree_seconds(parent.pid) == 0.0
    assert proctimes.tree_seconds(None) == 0.0


def test_thread_seconds_lists_this_process() -> None:
    found = proctimes.thread_seconds(os.getpid())
    assert os.getpid() in found
    assert all(seconds >= 0 for _, seconds in found.values())


snapshots = st.dictionaries(
    st.integers(2, 200),
    st.tuples(st.sampled_from(["python", "rdk:main", "rdk:broker1", "onnx"]), st.floats(0, 50)),
    max_size=12,
)


@given(before=snapshots, after=snapshots, named=st.booleans(), exited=st.floats(0, 5))
def test_split_adds_up_to_the_process(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    named: bool,
    exited: float,
) -> None:
    pid = 1
    # Thread times only grow; a thread present in both keeps its comm.
    after = {
        t: (before[t][0], s + before[t][1]) if t in before else (c, s)
        for t, (c, s) in after.items()
    }
    before[pid], after[pid] = ("python", 1.0), ("python", 3.0)
    live = sum(s - before.get(t, (c, 0.0))[1] for t, (c, s) in after.items())
    names = {pid: "MainThread"} if named else {}
    groups = threads.split(pid, before, after, names, live + exited)
    assert sum(groups.values()) == pytest.approx(live + exited)
    if named:
        assert groups["main: poll, decode to records, commit"] == pytest.approx(2.0)
    rdk = sum(s - before.get(t, (c, 0.0))[1] for t, (c, s) in after.items() if c.startswith("rdk"))
    assert groups.get(threads.RDKAFKA, 0.0) == pytest.approx(rdk)


def test_group_names() -> None:
    assert threads.group_of("python", "model-call_0") == "model calls (null model)"
    assert threads.group_of("python", "run") == "run: process step, outputs durable"
    assert threads.group_of("python", "artifacts_7") == "Python threads 'artifacts_*'"
    assert threads.group_of("python", "ThreadPoolExecutor-0_0") == (
        "Python threads 'ThreadPoolExecutor_*'"
    )
    assert threads.group_of("python", "watcher") == "Python thread 'watcher'"
    assert threads.group_of("rdk:broker3", None) == threads.RDKAFKA
    assert threads.group_of("python3", None) == threads.OTHER


def test_python_thread_names_of_a_real_process() -> None:
    script = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), name='prepare', daemon=True).start()\n"
        "print('up', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        names = threads.python_thread_names(proc.pid)
        if threads.py_spy() is None:
            assert names == {}
        else:
            assert names[proc.pid] == "MainThread"
            assert sorted(names.values()) == ["MainThread", "prepare"]
            assert set(names) <= set(proctimes.thread_seconds(proc.pid))
    finally:
        proc.kill()
        proc.wait()
