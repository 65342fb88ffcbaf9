"""A short chaos run in `make test`: 1,000 submissions through a fresh embedded stack with two
workers per stage, 3 worker SIGKILLs, a 5 s Postgres outage and a poison record; `verify` must
find 0 lost and 0 duplicated. The full schedule is `make chaos`."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstream.chaos import ChaosConfig, ChaosRun
from inferstream.chaos.run import POISON_MARKER
from inferstream.settings import DATA_DIR_ENV

EXAMPLES = Path(__file__).parents[2] / "examples" / "bug_reports.jsonl"


def test_short_chaos_run_loses_and_duplicates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ChaosRun points the process at its own data dir; monkeypatch restores the environment.
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "stack"))
    monkeypatch.setenv("INFERSTREAM_WORKER_FAULT_POISON_MARKER", POISON_MARKER)
    config = ChaosConfig(
        submissions=1000,
        kills=3,
        pg_outage_s=5.0,
        s3_outage_s=0.0,
        poison=1,
        invalid=3,
        storm_s=0.0,
        seed=7,
        publish_s=20.0,
        drain_timeout_s=400.0,
    )
    log: list[str] = []
    result = ChaosRun(config, tmp_path / "stack", EXAMPLES, log.append).run()

    violations = {k: v[:5] for k, v in result.report.violations.items() if v}
    assert result.drained, f"did not drain: {result.rows}/{result.submissions} rows"
    assert violations == {}
    assert result.rows == result.submissions == 1000
    assert result.poison_dead == 1
    # Every fault of the schedule ran: 3 kills and the outage.
    assert [f.kind for f in result.faults].count("kill") == 3
    assert len(log) == len(result.faults) + 1  # the run id, then one line per fault
    assert result.report.counts["dead letters"] >= 3 + 1  # invalid records + the poison one
