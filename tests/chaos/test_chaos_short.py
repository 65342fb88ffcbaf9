"""A short chaos run in `make test`: 300 submissions through a fresh embedded stack with two
workers per stage, a worker SIGKILL per stage, a kill -9 of the broker (Tansu on its durable
s3:// storage, restarted on the same port), a 3 s Postgres outage and a poison record.
Asserted on what was executed, not on what was planned: every fault ran, every kill ended its
worker with SIGKILL and no worker exited any other way, every acknowledged submission has
exactly one row, and `verify` finds nothing. Sized for CI (a few hundred submissions, a
10 s publishing window); the full schedule, with S3 outages, stack restarts, SIGSTOP pauses
and a rebalance storm, is `make chaos`.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from _minilm import minilm_models_dir

from inferstream.chaos import ChaosConfig, ChaosRun
from inferstream.chaos.run import POISON_MARKER
from inferstream.settings import DATA_DIR_ENV
from inferstream.topology import STAGES

EXAMPLES = Path(__file__).parents[2] / "examples" / "bug_reports.jsonl"
SUBMISSIONS = 300
# Every wait of the run is bounded, and the bounds add up to less than the test's timeout, so a
# run that does not drain fails with its figures and tears its servers down, instead of being
# killed by pytest-timeout with the servers left running.
READY_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 240.0
TEST_TIMEOUT_S = 720


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_short_chaos_run_loses_and_duplicates_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ChaosRun points the process at its own data dir; monkeypatch restores the environment.
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "stack"))
    # The model bundle built once for the session, not by both infer workers at once.
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(minilm_models_dir(tmp_path_factory)))
    monkeypatch.setenv("INFERSTREAM_WORKER_FAULT_POISON_MARKER", POISON_MARKER)
    config = ChaosConfig(
        submissions=SUBMISSIONS,
        kills=len(STAGES),
        pg_outage_s=3.0,
        s3_outage_s=0.0,
        poison=1,
        invalid=3,
        storm_s=0.0,
        seed=7,
        publish_s=10.0,
        drain_timeout_s=DRAIN_TIMEOUT_S,
        broker_kills=1,
        stack_restarts=0,
        pauses=0,
        ready_timeout_s=READY_TIMEOUT_S,
    )
    # up, ready, publishing, drain, verify and teardown (3 min allowed for the rest)
    assert READY_TIMEOUT_S + config.publish_s + DRAIN_TIMEOUT_S + 180 < TEST_TIMEOUT_S
    log: list[str] = []
    result = ChaosRun(config, tmp_path / "stack", EXAMPLES, log.append).run()

    assert result.notes == []
    violations = {k: v[:5] for k, v in result.report.violations.items() if v}
    assert result.drained, f"did not drain: {result.rows}/{result.submissions} rows, {violations}"
    assert violations == {}
    assert result.published == SUBMISSIONS + 1  # every valid submission and the poison one
    assert result.rows == result.submissions == SUBMISSIONS
    assert result.poison_dead == 1
    # The executed schedule: every planned fault ran to its end without an error.
    executed = sorted((e.fault.kind, e.fault.target) for e in result.executed)
    assert executed == sorted((f.kind, f.target) for f in result.faults)
    assert [e for e in result.executed if e.error is not None or e.ended_s is None] == []
    kills = [e for e in result.executed if e.fault.kind == "kill"]
    assert {e.fault.target.split("-")[0] for e in kills} == set(STAGES)
    assert [e.exit_code for e in kills] == [-signal.SIGKILL] * len(STAGES)
    assert [e.fault.kind for e in result.executed if e.fault.server_lane] in (
        ["postgres", "broker"],
        ["broker", "postgres"],
    )
    # No worker exited but by our SIGKILLs, and all stopped gracefully at the end.
    assert result.exits and result.unexpected_exits == []
    assert len(result.exits) == len(STAGES)
    assert set(result.final_exits.values()) == {0}
    assert result.report.counts["dead letters"] >= 3 + 1  # invalid records + the poison one
    assert len(log) == len(result.faults) + 1  # the run id, then one line per fault
