"""The rebalance storm: a member is replaced only once it is ready (it joined the group), so a
machine that starts workers slowly slows the storm down instead of emptying it."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest

from inferstream.chaos import workers
from inferstream.chaos.workers import STORM_EVERY_S, WorkerNemesis
from inferstream.workers.supervisor import Supervisor


class _Proc:
    pid = 1

    def __init__(self) -> None:
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.returncode = 0


class _Supervisor(Supervisor):
    """Processes that exist only as objects; readiness set by the test."""

    def __init__(self) -> None:
        super().__init__("bug_report")
        self.ready: set[str] = set()

    def start_one(self, stage: str, replica: int, index: int, name: str | None = None) -> str:
        name = name or f"{stage}-{replica}"
        self.procs[name] = _Proc()  # type: ignore[assignment]
        return name

    def is_ready(self, name: str) -> bool:
        return name in self.ready


def _signals(supervisor: _Supervisor, name: str) -> list[int]:
    proc = supervisor.procs[name]
    assert isinstance(proc, _Proc)
    return proc.signals


def test_a_member_is_replaced_only_once_it_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(workers, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    supervisor = _Supervisor()
    nemesis = WorkerNemesis(supervisor)
    nemesis.start_storm("infer", 60.0)
    assert list(supervisor.procs) == ["infer-x0"]

    clock[0] = 5 * STORM_EVERY_S  # long past the interval, but x0 is still starting
    nemesis.tick()
    assert list(supervisor.procs) == ["infer-x0"] and _signals(supervisor, "infer-x0") == []

    supervisor.ready.add("infer-x0")
    nemesis.tick()  # x0 joined: x1 comes, x0 leaves
    assert list(supervisor.procs) == ["infer-x0", "infer-x1"]
    assert _signals(supervisor, "infer-x0") == [signal.SIGTERM]

    clock[0] += STORM_EVERY_S / 2
    supervisor.ready.add("infer-x1")
    nemesis.tick()  # ready, but the interval has not passed
    assert list(supervisor.procs) == ["infer-x0", "infer-x1"]

    clock[0] += STORM_EVERY_S
    nemesis.tick()
    assert list(supervisor.procs) == ["infer-x0", "infer-x1", "infer-x2"]
    assert _signals(supervisor, "infer-x1") == [signal.SIGTERM]

    nemesis.end_storms()  # the last member leaves even if it never got ready
    assert _signals(supervisor, "infer-x2") == [signal.SIGTERM]
    assert nemesis.storm_members == {"infer-x0", "infer-x1", "infer-x2"}
    assert nemesis.exits == []  # storm members' exits are not the regular workers'


def test_a_member_that_exited_before_it_was_ready_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr(workers, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    supervisor = _Supervisor()
    nemesis = WorkerNemesis(supervisor)
    nemesis.start_storm("infer", 60.0)
    supervisor.procs["infer-x0"].returncode = 1  # type: ignore[misc]
    clock[0] = STORM_EVERY_S
    nemesis.tick()
    assert list(supervisor.procs) == ["infer-x0", "infer-x1"]
