"""A server fault of a chaos run starts again only the server it stopped (chaos/faults.py).

`inferstream up` after a Postgres outage health-checks the broker too (list_topics within 1 s)
and restarts it when it answers late, as a loaded machine makes it: an unplanned broker restart
inside a Postgres outage. The restart is checked here on the stack's record (stack.json) with
the server starts replaced: what each fault starts, in which order, and what it records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferstream.chaos import faults
from inferstream.stack import StackState
from inferstream.stack.servers import PostgresInfo, SeaweedInfo, TansuInfo


def _forbidden(name: str) -> Any:
    def call(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{name} was called")

    return call


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A recorded stack whose servers are all down; every start is forbidden until a test
    allows it, and the calls made are listed."""
    state = StackState(
        tmp_path,
        tansu=TansuInfo(pid=11, port=9092, storage="s3"),
        postgres=PostgresInfo(pid=12, socket_dir=str(tmp_path / "postgres"), port=5432, user="p"),
        seaweed=SeaweedInfo(pid=13, s3_port=8333, access_key="a", secret_key="s", bucket="b"),
    )
    state.save()
    for name in ("up", "restart_broker", "start_postgres", "start_seaweed"):
        monkeypatch.setattr(faults, name, _forbidden(name))
    monkeypatch.setattr(faults, "postgres_running", lambda data_dir: False)
    return []


def _postgres(calls: list[str], data_dir: Path, port: int = 5432) -> Any:
    def start(given: Path) -> PostgresInfo:
        calls.append("postgres")
        return PostgresInfo(pid=22, socket_dir=str(data_dir / "postgres"), port=port, user="p")

    return start


def test_a_postgres_outage_starts_postgres_only(
    tmp_path: Path, stack: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faults, "start_postgres", _postgres(stack, tmp_path))
    faults.restart(tmp_path, "postgres")
    assert stack == ["postgres"]
    state = StackState.load(tmp_path)
    assert state.postgres is not None and state.postgres.pid == 22
    assert state.tansu == TansuInfo(pid=11, port=9092, storage="s3")  # untouched


def test_postgres_that_moved_fails_the_fault(
    tmp_path: Path, stack: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faults, "start_postgres", _postgres(stack, tmp_path, port=5433))
    with pytest.raises(RuntimeError, match="Postgres came back"):
        faults.restart(tmp_path, "postgres")


def test_an_s3_outage_starts_s3_on_its_port_then_the_broker_on_it(
    tmp_path: Path, stack: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def seaweed(data_dir: Path, **kwargs: Any) -> SeaweedInfo:
        stack.append(f"s3:{kwargs['s3_port']}")
        return SeaweedInfo(23, kwargs["s3_port"], kwargs["access_key"], kwargs["secret_key"], "b")

    def broker(data_dir: Path) -> None:
        # The broker follows its S3 server: the new one is recorded before the broker starts.
        recorded = StackState.load(data_dir).seaweed
        stack.append(f"broker after s3 pid {recorded.pid if recorded else None}")

    monkeypatch.setattr(faults, "start_seaweed", seaweed)
    monkeypatch.setattr(faults, "restart_broker", broker)
    faults.restart(tmp_path, "s3")
    assert stack == ["s3:8333", "broker after s3 pid 23"]


def test_a_stack_restart_starts_postgres_patiently_then_up(
    tmp_path: Path, stack: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faults, "start_postgres", _postgres(stack, tmp_path))
    monkeypatch.setattr(faults, "up", lambda data_dir: stack.append("up"))
    faults.restart(tmp_path, "stack")
    assert stack == ["postgres", "up"]


def test_an_unknown_server_is_refused(tmp_path: Path, stack: list[str]) -> None:
    with pytest.raises(ValueError, match="no server"):
        faults.restart(tmp_path, "broker")
    assert stack == []
