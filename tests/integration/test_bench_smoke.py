"""Every benchmark scenario runs end to end at tiny size (`inferstream bench NAME --tiny`): the
command exits 0, prints its tables and appends a dated section (machine, versions, command,
figures) to the given doc. Benchmarks are not tests: this only keeps them working; the figures
of a tiny run mean nothing, so the scenarios share one embedded stack (`--stack-dir`, one `up`
instead of one per scenario)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _stack import start_stack

from inferstream.bench.scenarios import SCENARIOS
from inferstream.settings import DATA_DIR_ENV
from inferstream.stack import down
from inferstream.topology import STAGES

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Per scenario; pytest's own limit for each test adds the shared stack's start (first test).
TIMEOUT_S = 480
# memory leaves its backlog of submissions in the shared stack's topics (the next scenario's
# workers would drain it first): it runs last.
ORDER = sorted(SCENARIOS, key=lambda name: name == "memory")


@pytest.fixture(scope="module")
def bench_stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("bench-stack")
    start_stack(data_dir)
    try:
        yield data_dir
    finally:
        down(data_dir)


def _bench(
    name: str, tmp_path: Path, stack_dir: Path
) -> tuple[subprocess.CompletedProcess[str], str]:
    doc = tmp_path / "benchmarks.md"
    env = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV}
    env["INFERSTREAM_WORKER_MODELS_DIR"] = str(tmp_path.parent / "bench-models")
    argv = [sys.executable, "-m", "inferstream", "bench", name, "--tiny", "--doc", str(doc)]
    argv += ["--stack-dir", str(stack_dir)]
    # A session of its own: on timeout the whole group (the CLI and the workers it started) is
    # stopped, not only the CLI; the stack itself is the fixture's, stopped by it.
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        raise
    result = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    return result, doc.read_text() if doc.is_file() else ""


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM unwinds the CLI (it stops its workers on the way out); SIGKILL what is left."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


@pytest.mark.integration
@pytest.mark.timeout(TIMEOUT_S + 120)
@pytest.mark.parametrize("name", ORDER)
def test_scenario_runs_at_tiny_size(name: str, tmp_path: Path, bench_stack_dir: Path) -> None:
    result, doc = _bench(name, tmp_path, bench_stack_dir)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    header = re.search(rf"^### \d{{4}}-\d\d-\d\d \d\d:\d\d UTC · {name}: ", doc, re.M)
    assert header, doc[:500]
    assert f"- command: `inferstream bench {name} --tiny --doc" in doc
    assert re.search(r"^- machine: \d+ cores", doc, re.M)
    table_rows = [line for line in doc.splitlines() if line.startswith("| ")]
    assert len(table_rows) >= 3, doc  # a header and at least two measured rows
    if name == "overhead":
        _check_overhead(doc)
    if name == "latency":
        png = tmp_path / "benchmarks" / "latency-vs-load-tiny.png"
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
    """A row with positive CPU for every worker and server, and a positive records/s."""
    processes = [f"{stage}-0" for stage in STAGES]
    processes += ["kafka (tansu)", "postgres", "s3 (seaweedfs)"]
    for process in processes:
        assert _number(_row(doc, process)[1]) > 0, process
    assert _number(_row(doc, "**total (pipeline)**")[1]) > 0
    records, _seconds, rate = _row(doc, "300")[:3]
    assert records == "300" and _number(rate) > 0
    assert "every row's model_version ends in +null (checked)" in doc
    for worker in processes[: len(STAGES)]:
        assert f"**inside {worker} (per-thread" in doc
