"""Hot reload on the real pipeline: a promotion while records stream in switches the running
infer worker (no restart) between batches, with no lost or duplicated row; a canary serves
exactly the submissions its key hash selects; a rollback ends it.

The worker processes are started once for the module; the churn model's aliases are removed at
the end, so the session's other churn tests serve their own local bundle again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _models import train_churn, write_named
from _stack import Stack
from typer.testing import CliRunner

from inferstream.cli import app
from inferstream.client import Publisher
from inferstream.models import registry
from inferstream.models.registry import live
from inferstream.models.registry.routing import is_canary
from inferstream.tasks.churn.inferer import BUNDLE_NAME
from inferstream.training.datasets import churn_records
from inferstream.workers.supervisor import Supervisor

# How long the test's producer holds the stream at its gate at most (the test opens it as soon
# as the promoted version is loaded; the bound only keeps a failing run from hanging).
GATE_S = 240.0


@dataclass
class Pipeline:
    workers: Supervisor
    v1: str
    v2: str
    log: Path


def _wait(check: Callable[[], bool], deadline_s: float, what: str, workers: Supervisor) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, f"timed out after {deadline_s}s waiting for {what}"
        assert not workers.failed(), f"a worker died waiting for {what}: {workers.failed()}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pipeline(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    work = tmp_path_factory.mktemp("reload")
    _clear_aliases(stack)  # the workers start on the local bundle, whatever ran before
    (g1, m1), (g2, m2) = train_churn(work / "a", seed=4), train_churn(work / "b", seed=5)
    _, d2 = write_named(work / "v2", BUNDLE_NAME, g2, m2)
    v1, d1 = write_named(work / "models", BUNDLE_NAME, g1, m1)  # the local LATEST: v1
    v2 = registry.register(d2)[0].version
    registry.register(d1)
    mp = pytest.MonkeyPatch()
    mp.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    mp.setenv("INFERSTREAM_WORKER_BATCH_MAX_ITEMS", "16")  # many batches per second
    mp.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(work / "models"))
    workers = Supervisor("churn", 1, log_dir=work / "logs")
    try:
        workers.start()
        workers.wait_ready(timeout_s=180)
        yield Pipeline(workers, v1, v2, work / "logs" / "churn-infer-0.log")
    finally:
        codes = workers.stop()
        mp.undo()
        _clear_aliases(stack)
        assert all(code == 0 for code in codes.values()), codes


def _clear_aliases(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        conn.execute("DELETE FROM model_aliases WHERE name = %s", (BUNDLE_NAME,))


def _publish(
    stack: Stack,
    n: int,
    seed: int,
    pace_s: float = 0.0,
    ids: list[str] | None = None,
    gate: tuple[int, threading.Event] | None = None,
) -> list[str]:
    """Publish n records; with a gate (index, event), hold before that index until the event is
    set (bounded): the records after it are published only once the test let them go."""
    ids = ids if ids is not None else [str(uuid.uuid4()) for _ in range(n)]
    with Publisher("churn", stack.kafka) as publisher:
        for i, (sid, payload) in enumerate(zip(ids, churn_records(n, seed)[0], strict=True)):
            if gate is not None and i == gate[0]:
                publisher.flush()
                gate[1].wait(GATE_S)
            publisher.publish(payload, submission_id=sid, wait=False)
            if pace_s and i % 10 == 9:
                publisher.flush()
                time.sleep(pace_s)  # pacing a producer, not synchronisation
    return ids


def _rows(stack: Stack, ids: list[str]) -> list[tuple[str, str, float]]:
    """(submission_id, model_version, produced_at epoch) of the rows of these submissions."""
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT submission_id, model_version, extract(epoch FROM produced_at)::float8 "
            "FROM results_churn WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchall()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


def _served(p: Pipeline) -> dict[str, str]:
    """alias -> version the infer worker serves now, from its metrics."""
    url = f"http://127.0.0.1:{p.workers.ports['infer-0']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    served: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("inferstream_model_served{") and line.endswith(" 1.0"):
            labels = dict(
                kv.split("=", 1) for kv in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            served[labels["alias"].strip('"')] = labels["version"].strip('"')
    return served


def _events(p: Pipeline, event: str) -> list[dict[str, Any]]:
    lines = p.log.read_text().splitlines()
    return [json.loads(line) for line in lines if f'"event": "{event}"' in line]


def _loaded(p: Pipeline, versions: dict[str, str], times: int = 1) -> bool:
    """The watcher has loaded this set (for the ``times``-th time) beside the served one."""
    loaded = [e for e in _events(p, "model loaded beside the served one") if e["next"] == versions]
    return len(loaded) >= times


def test_promotion_mid_stream_switches_without_restart_or_loss(
    stack: Stack, pipeline: Pipeline
) -> None:
    p = pipeline
    assert _served(p) == {"production": p.v1}  # no alias yet: the local bundle
    infer_pid = p.workers.procs["infer-0"].pid
    ids = [str(uuid.uuid4()) for _ in range(600)]
    # The stream holds before its last 200 records until the worker has loaded v2: however
    # slow the watcher is next to the stream, v2 then serves some of them (without the gate,
    # a fast stream could end before the load and leave v2 nothing).
    loaded = threading.Event()
    producer = threading.Thread(
        target=_publish, args=(stack, 600, 7, 0.05, ids), kwargs={"gate": (400, loaded)}
    )
    producer.start()
    try:
        _wait(lambda: len(_rows(stack, ids)) >= 60, 180, "the first 60 rows", p.workers)
        registry.promote(BUNDLE_NAME, p.v2, reason="integration test", actor="test")
        _wait(lambda: _loaded(p, {"production": p.v2}), 120, "v2 to be loaded", p.workers)
    finally:
        loaded.set()
        producer.join(timeout=GATE_S)
    assert not producer.is_alive()
    _wait(lambda: len(_rows(stack, ids)) >= 600, 240, "600 rows", p.workers)
    rows = _rows(stack, ids)
    assert len(rows) == 600 and len({r[0] for r in rows}) == 600  # none lost, none twice
    by_version = {v: [r for r in rows if r[1] == v] for v in (p.v1, p.v2)}
    assert len(by_version[p.v1]) + len(by_version[p.v2]) == 600
    assert by_version[p.v1] and by_version[p.v2], "the promotion did not land mid-stream"
    # One infer worker: every v1 result was produced before the first v2 result.
    assert max(r[2] for r in by_version[p.v1]) <= min(r[2] for r in by_version[p.v2])
    assert p.workers.procs["infer-0"].pid == infer_pid and not p.workers.failed()
    switches = _events(p, "model switched")
    assert switches and switches[-1]["after"] == {"production": p.v2}
    print(f"switch pause: {[s['pause_ms'] for s in switches]} ms")
    assert switches[-1]["pause_ms"] < 100


def test_canary_serves_exactly_its_key_hash_share_then_rollback_ends_it(
    stack: Stack, pipeline: Pipeline
) -> None:
    p = pipeline
    registry.promote(BUNDLE_NAME, p.v1, reason="baseline for the canary", actor="test")
    registry.promote(BUNDLE_NAME, p.v2, "canary", fraction=0.3, actor="test")
    want = {"production": p.v1, "canary": p.v2}
    # Loaded beside production by the watcher; adopted by the first batch that follows.
    _wait(lambda: _loaded(p, want), 120, "the canary to be loaded", p.workers)
    ids = _publish(stack, 300, seed=8)
    _wait(lambda: len(_rows(stack, ids)) >= 300, 120, "300 rows", p.workers)
    versions = {sid: version for sid, version, _ in _rows(stack, ids)}
    expected = {sid: p.v2 if is_canary(sid, 0.3) else p.v1 for sid in ids}
    assert versions == expected
    share = sum(v == p.v2 for v in versions.values()) / 300
    assert 0.2 < share < 0.4, share

    alone = {"production": p.v1}
    before = len(
        [e for e in _events(p, "model loaded beside the served one") if e["next"] == alone]
    )
    assert registry.rollback(BUNDLE_NAME, "canary", "error rate 9% > 5%", actor="test") is None
    _wait(lambda: _loaded(p, alone, before + 1), 120, "the canary's end", p.workers)
    after = _publish(stack, 40, seed=9)
    _wait(lambda: len(_rows(stack, after)) >= 40, 120, "40 rows", p.workers)
    assert {version for _, version, _ in _rows(stack, after)} == {p.v1}


def _shadow_rows(stack: Stack, ids: list[str]) -> list[tuple[str, str, str]]:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT submission_id, model_version, kind FROM model_results "
            "WHERE task = 'churn' AND submission_id = ANY(%s)",
            (ids,),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_shadow_writes_its_own_table_only_and_compare_reports_it(
    stack: Stack, pipeline: Pipeline
) -> None:
    p = pipeline
    registry.promote(BUNDLE_NAME, p.v1, reason="served", actor="test")
    registry.promote(BUNDLE_NAME, p.v2, "shadow", reason="try v2 on live input", actor="test")
    log_path = p.log.with_name("churn-shadow.log")
    with log_path.open("ab") as out:
        shadow = subprocess.Popen(
            [sys.executable, "-m", "inferstream", "models", "shadow", "--task", "churn"],
            env={**os.environ, "INFERSTREAM_WORKER_LOG_LEVEL": "INFO"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: "shadow assigned" in log_path.read_text(), 120, "the shadow", p.workers)
        ids = _publish(stack, 200, seed=10)
        _wait(lambda: len(_shadow_rows(stack, ids)) >= 200, 120, "200 shadow rows", p.workers)
        _wait(lambda: len(_rows(stack, ids)) >= 200, 120, "200 served rows", p.workers)
        assert shadow.poll() is None, log_path.read_text()[-2000:]
    finally:
        shadow.send_signal(signal.SIGTERM)
        code = shadow.wait(timeout=60)
    assert code == 0, log_path.read_text()[-2000:]
    # Served rows stay production's; the shadow's are in model_results only, once each.
    assert {v for _, v, _ in _rows(stack, ids)} == {p.v1} and len(_rows(stack, ids)) == 200
    shadow_rows = _shadow_rows(stack, ids)
    assert len(shadow_rows) == 200 and {(v, k) for _, v, k in shadow_rows} == {(p.v2, "shadow")}

    result = CliRunner().invoke(app, ["models", "compare", "--task", "churn", "--version", p.v2])
    assert result.exit_code == 0, result.output
    assert f"shadow {p.v2} vs served {p.v1} on " in result.stdout
    print(result.stdout)
    registry.rollback(BUNDLE_NAME, "shadow", "comparison done", actor="test")


def test_backfill_keeps_another_versions_results_beside_the_served_ones(
    stack: Stack, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = pipeline
    monkeypatch.setattr(live, "_PROCESS_VERSION", [None])  # the command pins this process
    registry.promote(BUNDLE_NAME, p.v1, reason="served", actor="test")
    since = datetime.now(UTC) - timedelta(seconds=2)
    ids = _publish(stack, 50, seed=11)
    _wait(lambda: len(_rows(stack, ids)) >= 50, 120, "50 rows", p.workers)
    served = _rows(stack, ids)
    args = [
        "models",
        "backfill",
        "--task",
        "churn",
        "--version",
        p.v2,
        "--since",
        since.isoformat(),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT submission_id, model_version FROM model_results "
            "WHERE kind = 'backfill' AND submission_id = ANY(%s)",
            (ids,),
        ).fetchall()
    assert sorted(str(sid) for sid, _ in rows) == sorted(ids)
    assert {str(v) for _, v in rows} == {p.v2}
    assert sorted(_rows(stack, ids)) == sorted(served)  # the served rows are untouched
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and " 0 new rows" in again.stdout, again.output
