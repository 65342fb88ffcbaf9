"""target_risk, anomaly and churn through the real pipeline on real servers: 1,000 records per
task give exactly one row each; the anomaly infer worker is SIGKILLed mid-stream and its
replacement (windows rebuilt from durable results) gives the scores of an uninterrupted run."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _stack import Stack

from inferstream.client import Publisher
from inferstream.plugins import InferContext
from inferstream.schemas import sample_payload
from inferstream.settings import PostgresSettings
from inferstream.tasks.anomaly.inferer import load_scorer
from inferstream.tasks.anomaly.scoring import FEATURE_NAMES
from inferstream.training import anomaly, target_risk
from inferstream.training.datasets import churn_records, metric_series, target_records
from inferstream.workers.supervisor import Supervisor

N = 1000


def _wait(check: Callable[[], bool], deadline_s: float, what: str, workers: Supervisor) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        if workers.failed():
            raise AssertionError(f"a worker died waiting for {what}: {workers.failed()}")
        time.sleep(0.25)


def _count(stack: Stack, table: str, ids: list[str]) -> tuple[int, int]:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        row = conn.execute(
            f"SELECT count(*), count(DISTINCT submission_id) FROM {table} "
            "WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture(scope="module")
def models_dir(stack: Stack) -> Path:
    """The bundles of the three tasks, into the models dir the workers read: churn's by the real
    CLI; target_risk's trained here on 3,000 records instead of 20,000 (its three forests: 2.9
    CPU s instead of 16.6) and anomaly's on 10 series of 150 points with 20 trees instead of
    60 x 400 and 200 (the ONNX export costs about the square of the tree count, a CPU minute for
    200, and the windowing of 24,000 points another): this test needs the bundles, not their
    quality."""
    directory = stack.data_dir / "models"
    result = stack.cli("models", "train", "churn", "--models-dir", str(directory), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "held-out metrics" in result.stdout
    target_risk.train(directory, rows=3000)
    anomaly.train(directory, series_count=10, length=150, trees=20)
    return directory


def _start(task: str, log_dir: Path, models_dir: Path, env: pytest.MonkeyPatch) -> Supervisor:
    """A task's workers, ready; ``env`` (what they inherit) also holds for restarts while set."""
    env.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    env.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(models_dir))
    supervisor = Supervisor(task, 1, log_dir=log_dir)
    supervisor.start()
    try:
        supervisor.wait_ready(timeout_s=180)
    except BaseException:
        # Workers that missed the deadline (or a pytest timeout) must not outlive the test:
        # left running, they consume the next tests' records from the shared topics.
        supervisor.stop()
        raise
    return supervisor


def _stop(supervisors: list[Supervisor], log_dir: Path) -> None:
    for supervisor in supervisors:
        codes = supervisor.stop()
        logs = {p.name: p.read_text()[-3000:] for p in log_dir.glob("*.log")}
        assert all(code == 0 for code in codes.values()), (codes, logs)


@pytest.fixture
def run_task(
    stack: Stack, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Supervisor]]:
    """A task's workers of the test's own (a test that kills one, or sets its own settings)."""
    started: list[Supervisor] = []

    def start(task: str) -> Supervisor:
        started.append(_start(task, tmp_path, models_dir, monkeypatch))
        return started[-1]

    yield start
    _stop(started, tmp_path)


@pytest.fixture(scope="module")
def shared_task(
    stack: Stack, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Supervisor]]:
    """A task's workers started once for the module's tests that only publish and read back
    their own submissions (each filters by its ids): target_risk's two tests share one start of
    four processes. Stopped, exit codes asserted, at the module's end."""
    log_dir = tmp_path_factory.mktemp("shared-workers")
    started: dict[str, Supervisor] = {}

    def start(task: str) -> Supervisor:
        if task not in started:
            with pytest.MonkeyPatch.context() as env:
                started[task] = _start(task, log_dir, models_dir, env)
        return started[task]

    yield start
    _stop(list(started.values()), log_dir)


def _publish(stack: Stack, task: str, payloads: list[dict[str, Any]]) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in payloads]
    with Publisher(task, stack.kafka) as publisher:
        for sid, payload in zip(ids, payloads, strict=True):
            publisher.publish(payload, submission_id=sid, wait=False)
    return ids


@pytest.mark.parametrize(
    ("task", "make"),
    [
        ("churn", lambda n: churn_records(n, seed=41)[0]),
        ("target_risk", lambda n: target_records(n, seed=42)[0]),
    ],
)
def test_1000_records_give_exactly_one_row_each(
    stack: Stack,
    run_task: Callable[[str], Supervisor],
    shared_task: Callable[[str], Supervisor],
    task: str,
    make: Callable[[int], list[dict[str, Any]]],
) -> None:
    workers = shared_task(task) if task == "target_risk" else run_task(task)
    ids = _publish(stack, task, make(N))
    table = f"results_{task}"
    _wait(lambda: _count(stack, table, ids)[1] >= N, 300, f"{N} {task} rows", workers)
    assert _count(stack, table, ids) == (N, N)
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        statuses = conn.execute(
            "SELECT task, status, count(*) FROM submissions WHERE submission_id = ANY(%s) "
            "GROUP BY 1, 2",
            (ids,),
        ).fetchall()
    assert statuses == [(task, "done", N)]
    # The seed metric names, counted by the infer worker.
    metrics = _metrics(workers, "infer-0")
    if task == "target_risk":
        assert 'bugpredict_analysis_total{risk_level="' in metrics
        assert "bugpredict_analysis_duration_seconds_count" in metrics
    else:
        assert 'churn_predictions_total{label="' in metrics


def _metrics(workers: Supervisor, name: str) -> str:
    url = f"http://127.0.0.1:{workers.ports[name]}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_target_risk_rejects_a_private_hostname_to_the_dead_letters(
    stack: Stack, shared_task: Callable[[str], Supervisor]
) -> None:
    workers = shared_task("target_risk")
    (sid,) = _publish(
        stack, "target_risk", [{**sample_payload("target_risk"), "domain": "db.corp"}]
    )

    def reason() -> str | None:
        with psycopg.connect(stack.postgres.conninfo()) as conn:
            row = conn.execute(
                "SELECT reason FROM dead_letters WHERE submission_id = %s", (sid,)
            ).fetchone()
        return str(row[0]) if row else None

    _wait(lambda: reason() is not None, 120, "the dead letter", workers)
    assert "db.corp" in str(reason())
    assert _count(stack, "results_target_risk", [sid]) == (0, 0)


def _emitted(workers: Supervisor) -> int:
    """Results the infer worker has produced so far (its records_total counter)."""
    for line in _metrics(workers, "infer-0").splitlines():
        if line.startswith("inferstream_records_total{") and 'outcome="emitted"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def test_anomaly_scores_survive_a_sigkill_of_the_infer_worker(
    stack: Stack,
    run_task: Callable[[str], Supervisor],
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Part one is published, infer-0 is SIGKILLed as soon as it has produced results (mid-
    stream: its uncommitted results are replayed), part two is published to its replacement,
    whose windows must come from the durable results of part one."""
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_ITEMS", "8")  # many small batches
    run_id = uuid.uuid4().hex[:8]
    observations = list(metric_series(10, N // 10, seed=43))
    payloads = [
        {
            "series_id": f"{run_id}/{o.series_id}",
            "timestamp": o.timestamp.isoformat(),
            "features": o.features,
        }
        for o in observations
    ]
    first = 600
    workers = run_task("anomaly")
    ids = _publish(stack, "anomaly", payloads[:first])
    _wait(lambda: _emitted(workers) > 0, 120, "the first results", workers)
    emitted = _emitted(workers)
    workers.kill("infer-0")
    assert emitted < first, "infer had finished part one before the kill; nothing replayed"
    workers.start_one("infer", 0, 99)
    ids += _publish(stack, "anomaly", payloads[first:])
    workers.wait_ready(timeout_s=180)
    _wait(lambda: _count(stack, "results_anomaly", ids)[1] >= N, 300, f"{N} rows", workers)
    assert _count(stack, "results_anomaly", ids) == (N, N)
    assert "anomaly_observations_scored_total" in _metrics(workers, "infer-0")

    with psycopg.connect(stack.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT series_id, input_partition, input_offset, features, score, model_version "
            "FROM results_anomaly WHERE submission_id = ANY(%s) "
            "ORDER BY input_partition, input_offset",
            (ids,),
        ).fetchall()
    # Every series stayed in one partition (enrich keys by series).
    partitions: dict[str, set[int]] = {}
    for series, partition, *_ in rows:
        partitions.setdefault(series, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())
    # The reference: the pure scorer, uninterrupted, over the same records in stream order.
    scorer = load_scorer(InferContext(models_dir, PostgresSettings.load(), 64, 64))
    assert {r[5] for r in rows} == {scorer.model.version}
    verdicts = scorer.score(
        [(s, (p, o), [f[name] for name in FEATURE_NAMES], None) for s, p, o, f, _, _ in rows]
    )
    mismatched = [
        (r[0], r[2], r[4], v.score) for r, v in zip(rows, verdicts, strict=True) if r[4] != v.score
    ]
    assert not mismatched, mismatched[:5]
