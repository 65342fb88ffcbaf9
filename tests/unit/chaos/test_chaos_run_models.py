"""A chaos run builds the model bundle once, before its workers start: a fresh run's models
dir is empty, and both infer workers used to build the bundle at the same time (chaos/run.py).
The run is stopped at the workers' start; the stack and the build are replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstream.chaos import ChaosConfig, ChaosRun, faults
from inferstream.chaos import run as chaos_run
from inferstream.settings import DATA_DIR_ENV

EXAMPLES = Path(__file__).parents[3] / "examples" / "bug_reports.jsonl"


class _Stop(Exception):
    pass


def test_the_bundle_is_built_once_before_any_worker_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run sets these itself; monkeypatch puts back what was there.
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "stack"))
    monkeypatch.setenv("INFERSTREAM_WORKER_FAULT_POISON_MARKER", "x")
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(tmp_path / "models"))
    events: list[str] = []
    monkeypatch.setattr(faults, "cli", lambda *args, **kwargs: events.append("up"))
    monkeypatch.setattr(chaos_run, "ensure_minilm_bundle", lambda d: events.append(f"build {d}"))
    chaos = ChaosRun(ChaosConfig(seed=1), tmp_path / "stack", EXAMPLES, lambda line: None)

    def start() -> None:
        events.append("workers")
        raise _Stop

    monkeypatch.setattr(chaos.supervisor, "start", start)
    with pytest.raises(_Stop):
        chaos.run()
    assert events == ["up", f"build {tmp_path / 'models'}", "workers"]
