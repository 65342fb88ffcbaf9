"""Worker sets shared between scenarios on a reused stack (`inferstream bench --stack-dir`):
taken only by a sharing scenario asking for the same replicas and environment, stopped before
any other start and at the end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from inferstream.bench import harness

ONE_EACH = {"enrich": 1, "infer": 1, "sink": 1}


@dataclass
class FakeSupervisor:
    """Records starts and stops; the processes themselves are the integration tests' business."""

    task: str
    replicas: Mapping[str, int]
    log_dir: Path | None = None

    def start(self) -> None:
        started_sets.append(self)

    def wait_ready(self, timeout_s: float) -> None:
        pass

    def failed(self) -> dict[str, int]:
        return {}

    def stop(self, grace_s: float = 30.0) -> dict[str, int | None]:
        stopped_sets.append(self)
        return {}


started_sets: list[FakeSupervisor] = []
stopped_sets: list[FakeSupervisor] = []


@pytest.fixture(autouse=True)
def fake_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(harness, "Supervisor", FakeSupervisor)
    started_sets.clear()
    stopped_sets.clear()
    yield
    harness.release_parked()


def _stack(tmp_path: Path, share: bool) -> harness.BenchStack:
    return harness.BenchStack(tmp_path, share_workers=share)


def test_a_sharing_scenario_takes_the_set_left_by_the_previous_one(tmp_path: Path) -> None:
    first = _stack(tmp_path, share=True)
    first_set = first.start_workers(ONE_EACH)
    first.stop_workers()
    assert stopped_sets == []  # parked, still running
    second = _stack(tmp_path, share=True)
    assert second.start_workers(dict(ONE_EACH)) is first_set
    assert len(started_sets) == 1
    second.stop_workers()
    harness.release_parked()
    assert stopped_sets == [first_set]


def test_other_replicas_or_environment_stop_the_parked_set_first(tmp_path: Path) -> None:
    stack = _stack(tmp_path, share=True)
    one = stack.start_workers(ONE_EACH)
    stack.stop_workers()
    two = stack.start_workers({**ONE_EACH, "infer": 2})
    assert two is not one and stopped_sets == [one]
    stack.stop_workers()
    env = stack.start_workers({**ONE_EACH, "infer": 2}, {"INFERSTREAM_X": "1"})
    assert env is not two and stopped_sets == [one, two]


def test_a_scenario_that_does_not_share_never_finds_a_running_set(tmp_path: Path) -> None:
    sharing = _stack(tmp_path, share=True)
    parked = sharing.start_workers(ONE_EACH)
    sharing.stop_workers()
    own = _stack(tmp_path, share=False)
    assert own.start_workers(ONE_EACH) is not parked
    assert stopped_sets == [parked]
    own.stop_workers()
    assert stopped_sets == [parked, started_sets[-1]]  # not parked: it does not share
