"""Every benchmark scenario runs end to end at tiny size (`inferstream bench A,B,... --tiny`):
the command exits 0, prints its tables and appends a dated section per scenario (machine,
versions, command, figures) to the given doc. Benchmarks are not tests: this only keeps them
working; the figures of a tiny run mean nothing, so the scenarios share one embedded stack
(`--stack-dir`, one `up` instead of one per scenario), two `inferstream bench` processes run
side by side (one interpreter start and one import of ONNX Runtime and the bench modules each
instead of one per scenario), and the scenarios that run the default stages (e2e, latency,
naive's pipeline, scaleout's first run) one set of worker processes, started once. Each
scenario's test reads its own section of its process's doc."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _stack import start_stack

from inferstream.bench.harness import models_cache
from inferstream.bench.scenarios import SCENARIOS
from inferstream.models import ensure_minilm_bundle
from inferstream.settings import DATA_DIR_ENV
from inferstream.stack import down
from inferstream.topology import STAGES

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# e2e, latency, naive (our pipeline) and scaleout (1 infer) run on the same worker set, started
# once (the bench's share_workers on a reused stack), so they run first and in a row; scaleout
# last of them, as its second run (2 infer) needs a set of its own. memory leaves its backlog of
# submissions in the shared stack's topics (the next scenario's workers would drain it first):
# it runs last.
SHARING = ("e2e", "latency", "naive", "scaleout")
# The second process, beside the first: the scenarios that touch nothing of the bug_report
# pipeline's (broker starts servers of its own; media has its own task, topics, table and
# workers; similarity a table of its own; both leave the bug_report results alone), so neither
# process disturbs what the other checks. Most of the broker's time is waiting on its servers,
# and much of the rest of the run is one busy core (imports, model loads, training): side by
# side they share the wall clock.
BESIDE = ("media", "similarity", "broker")
MAIN = [*SHARING, *sorted(set(SCENARIOS) - {*SHARING, *BESIDE, "memory"}), "memory"]
ORDER = [*MAIN, *BESIDE]
# The run of every scenario (480 s each before they shared a process). pytest's own limit
# applies to the first test, whose setup runs them all, and adds the stack's start.
TIMEOUT_S = 480 * len(ORDER)


@pytest.fixture(scope="module")
def bench_stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("bench-stack")
    start_stack(data_dir)
    try:
        yield data_dir
    finally:
        down(data_dir)


@dataclass(frozen=True)
class BenchRun:
    """One `inferstream bench` process of the run: its exit, output and doc."""

    result: subprocess.CompletedProcess[str]
    doc: str
    figures: Path  # the run's figures dir (<doc dir>/benchmarks)

    def section(self, name: str) -> str:
        """The dated section the run appended for scenario ``name`` (heading to next heading)."""
        heading = re.compile(rf"^### \d{{4}}-\d\d-\d\d \d\d:\d\d UTC · {name}: ", re.M)
        found = heading.search(self.doc)
        tail = self.result.stderr[-3000:] + self.result.stdout[-2000:]
        assert found, f"no section for {name} in the run's doc; the run's output ends:\n{tail}"
        following = re.compile(r"^### ", re.M).search(self.doc, found.end())
        return self.doc[found.start() : following.start() if following else len(self.doc)]


@pytest.fixture(scope="module")
def bench_runs(
    tmp_path_factory: pytest.TempPathFactory, bench_stack_dir: Path
) -> dict[str, BenchRun]:
    """Scenario name -> the process that ran it (MAIN and BESIDE, started together)."""
    out = tmp_path_factory.mktemp("bench-run")
    env = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV}
    models = out / "bench-models"
    env["INFERSTREAM_WORKER_MODELS_DIR"] = str(models)
    # The run's models dir is its own (its tiny media head must not reach the bench's cache),
    # but the text model's bundle is the cache's (built there once; the bare and ablation loops
    # read it there): copied in, the infer workers find it instead of building it again.
    bundle = ensure_minilm_bundle(models_cache()).onnx_path.parent
    shutil.copytree(bundle, models / bundle.parent.name / bundle.name)
    # A doc (and figures dir) per process: neither appends to the other's file.
    groups = {"main": MAIN, "beside": list(BESIDE)}
    docs = {group: out / group / "benchmarks.md" for group in groups}
    procs = {
        group: _start(names, docs[group], bench_stack_dir, env) for group, names in groups.items()
    }
    deadline = time.monotonic() + TIMEOUT_S
    runs: dict[str, BenchRun] = {}
    try:
        for group, (argv, proc) in procs.items():
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            doc = docs[group]
            stdout, stderr = (doc.with_name(n).read_text() for n in ("stdout", "stderr"))
            result = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
            run = BenchRun(
                result, doc.read_text() if doc.is_file() else "", doc.parent / "benchmarks"
            )
            runs.update(dict.fromkeys(groups[group], run))
    except BaseException:  # past the deadline, or pytest's own timeout: neither outlives it
        for _argv, proc in procs.values():
            _stop_group(proc)
        raise
    return runs


def _start(
    names: list[str], doc: Path, stack_dir: Path, env: dict[str, str]
) -> tuple[list[str], subprocess.Popen[str]]:
    doc.parent.mkdir()
    argv = [sys.executable, "-m", "inferstream", "bench", ",".join(names), "--tiny"]
    argv += ["--doc", str(doc), "--stack-dir", str(stack_dir)]
    # Output to files beside the doc: a pipe that is read only once the other process has
    # ended would stall this one when full. A session of its own: on timeout the whole group
    # (the CLI and the workers it started) is stopped, not only the CLI; the stack itself is
    # the fixture's, stopped by it.
    with (
        doc.with_name("stdout").open("w") as stdout,
        doc.with_name("stderr").open("w") as stderr,
    ):
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    return argv, proc


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM unwinds the CLI (it stops its workers on the way out); SIGKILL what is left."""
    if proc.poll() is not None:
        return  # exited already (its workers with it)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.integration
@pytest.mark.timeout(TIMEOUT_S + 120)
@pytest.mark.parametrize("name", ORDER)
def test_scenario_runs_at_tiny_size(name: str, bench_runs: dict[str, BenchRun]) -> None:
    bench_run = bench_runs[name]
    doc = bench_run.section(name)
    result = bench_run.result
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    # The command that ran it: every scenario of its process, this one among them.
    assert re.search(
        rf"^- command: `inferstream bench (?:\w+,)*{name}(?:,\w+)* --tiny --doc ", doc, re.M
    ), doc[:500]
    assert re.search(r"^- machine: \d+ cores", doc, re.M)
    table_rows = [line for line in doc.splitlines() if line.startswith("| ")]
    assert len(table_rows) >= 3, doc  # a header and at least two measured rows
    if name == "overhead":
        _check_overhead(doc)
    if name == "naive":  # the ablation, run beside the contenders at this size, is reported
        assert re.search(r"^\*\*ablation: the same 4 texts", doc, re.M), doc
    if name == "latency":
        png = bench_run.figures / "latency-vs-load-tiny.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert "(benchmarks/latency-vs-load-tiny.png)" in doc


def _row(doc: str, first: str) -> list[str]:
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{doc}")


def _number(cell: str) -> float:
    return float(cell.replace(",", ""))


def _check_overhead(doc: str) -> None:
    """A row for every worker and server, with positive CPU for each on the records' path, and a
    positive records/s. The archive is off that path (it writes its files later, polls every
    500 ms): in a tiny run's few seconds it may spend less than /proc's 10 ms tick, so 0.000."""
    processes = [f"{stage}-0" for stage in STAGES]
    processes += ["kafka (tansu)", "postgres", "s3 (seaweedfs)"]
    for process in processes:
        cpu = _number(_row(doc, process)[1])
        assert cpu > 0 or (process == "archive-0" and cpu == 0), process
    assert _number(_row(doc, "**total (pipeline)**")[1]) > 0
    records, _seconds, rate = _row(doc, "300")[:3]
    assert records == "300" and _number(rate) > 0
    assert "every row's model_version ends in +null (checked)" in doc
    for worker in processes[: len(STAGES)]:
        assert f"**inside {worker} (per-thread" in doc
    # The postgres row's split (bench/overhead_pg.py) adds up to the row (cells of 3 significant
    # digits, hence the tolerance), and the driver's own Postgres backend is on the driver's
    # line, not in the row.
    parts = [
        "sink's backend (its COPY and COMMIT)",
        "autovacuum (launcher, workers)",
        "checkpointer, walwriter, background writer",
        "other backends and background processes",
        "postmaster, and exited children after their last reading",
    ]
    split = sum(_number(_row(doc, part)[1]) for part in parts)
    row = _number(_row(doc, "postgres")[1])
    assert abs(split - row) <= 0.001 * len(parts) + 0.01 * row, (split, row)
    driver_line = "bench driver (publisher, row polls, their backend; not in the total)"
    driver = _number(_row(doc, driver_line)[1])
    assert driver >= _number(_row(doc, "of which the driver's Postgres backend (row polls)")[1])
