"""Server faults of a chaos run: outages, a kill -9 of the broker, a full stack restart and
SIGSTOP/SIGCONT pauses (gray failures: the process is alive, holds its sockets, answers nothing).

Each takes the stack's data dir and a stop event: a chaos run that is being torn down sets it,
and a fault then cuts its wait short and never starts a server again behind the teardown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from inferstream.stack import StackState, restart_broker, up
from inferstream.stack.processes import StackError, is_alive, wait_until
from inferstream.stack.servers import (
    pg_pid_from_datadir,
    start_postgres,
    start_seaweed,
    stop_postgres,
    stop_seaweed,
    stop_tansu,
)
from inferstream.stack.state import BUCKET, credentials

PATIENT_START_S = 240.0


class Interrupted(RuntimeError):
    """The run is being torn down: the fault stops where it is."""


def cli(*args: str, timeout_s: float = 300.0) -> None:
    """`inferstream ARGS` in a subprocess (the data dir comes from the environment)."""
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"inferstream {' '.join(args)} failed: {result.stderr[-2000:]}")


def _wait(stop: threading.Event, seconds: float) -> None:
    if stop.wait(seconds):
        raise Interrupted


def _restart(data_dir: Path, server: str) -> None:
    """``restart(data_dir, server)`` in a subprocess that imports only the stack.

    Not in this process: pgserver caches its server per data dir, so a second start in one
    process hands back the stopped one and waits for it in vain. Not the CLI either: it costs
    ~4 s of CPU to import, which on a loaded 2-core machine stretched a 5 s outage to 2 min."""
    result = subprocess.run(
        [sys.executable, "-m", "inferstream.chaos.faults", str(data_dir), server],
        capture_output=True,
        text=True,
        timeout=PATIENT_START_S + 120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"restarting {server} failed: {result.stderr[-2000:]}")


def restart(data_dir: Path, server: str) -> None:
    """Start again what a fault stopped, and nothing else: ``postgres``, ``s3`` (and the broker
    on it), or ``stack`` (every server, as `up` does).

    Not `up` after one server's outage: `up` health-checks every server and restarts one that
    answers late (Tansu within 1 s, SeaweedFS within 2 s), so on a loaded machine a Postgres
    outage also restarted a broker that was only slow, a fault the schedule never planned."""
    if server == "postgres":
        _restart_postgres(data_dir)
    elif server == "s3":
        _restart_s3(data_dir)
    elif server == "stack":
        _restart_postgres(data_dir)
        up(data_dir)
    else:
        raise ValueError(f"no server {server!r}: postgres, s3 or stack")


def _restart_postgres(data_dir: Path) -> None:
    """Postgres, given longer than `up` gives it (on a machine at load 20 it missed up's 60 s;
    a failed `up` stops every server and forgets their ports, which the running workers
    hold), recorded in stack.json. Its socket and port follow from the data dir, so the
    settings the workers hold (stack.toml) stay right."""
    if postgres_running(data_dir):
        return
    deadline = time.monotonic() + PATIENT_START_S
    while True:
        try:
            info = start_postgres(data_dir)
            break
        except StackError:
            if time.monotonic() > deadline:
                raise
    state = StackState.load(data_dir)
    before, state.postgres = state.postgres, info
    state.save()
    if before is not None and (before.socket_dir, before.port) != (info.socket_dir, info.port):
        raise RuntimeError(f"Postgres came back on {info.socket_dir}:{info.port}, not as before")


def _restart_s3(data_dir: Path) -> None:
    """SeaweedFS on its port, then the broker, as `up` does after S3 came back: a broker on
    s3:// storage follows its S3 server (stack/manager.py)."""
    state = StackState.load(data_dir)
    if state.seaweed is None:
        raise RuntimeError(f"no S3 server is recorded in {data_dir}")
    port = state.seaweed.s3_port
    state.seaweed = start_seaweed(data_dir, **credentials(data_dir), bucket=BUCKET, s3_port=port)
    state.save()
    if state.seaweed.s3_port != port:
        raise RuntimeError(f"S3 came back on port {state.seaweed.s3_port}, not {port}")
    restart_broker(data_dir)


def postgres_running(data_dir: Path) -> bool:
    return is_alive(pg_pid_from_datadir(data_dir), "postgres")


def outage(data_dir: Path, server: str, seconds: float, stop: threading.Event) -> None:
    """Stop Postgres or S3 for ``seconds``, then start it again on the same port."""
    if server == "postgres":
        stop_postgres(pg_pid_from_datadir(data_dir))
    else:
        state = StackState.load(data_dir)
        stop_seaweed(state.seaweed.pid if state.seaweed else None)
    _wait(stop, seconds)
    _restart(data_dir, server)


def kill_broker(data_dir: Path, seconds: float, stop: threading.Event) -> None:
    """kill -9 of Tansu, down for ``seconds``, restarted on the same port and storage."""
    state = StackState.load(data_dir)
    pid = state.tansu.pid if state.tansu else None
    if pid is None or not is_alive(pid, "tansu"):
        raise RuntimeError("no live broker to kill")
    os.kill(pid, signal.SIGKILL)
    if not wait_until(lambda: not is_alive(pid, "tansu"), 10.0):
        raise RuntimeError(f"the broker (pid {pid}) survived SIGKILL for 10 s")
    _wait(stop, seconds)
    restart_broker(data_dir)


def restart_stack(data_dir: Path, seconds: float, stop: threading.Event) -> None:
    """Every server stopped as `inferstream down` stops them, then started as `up` does.

    stack.json keeps the pids and ports (down keeps the ports alone), so `up` brings the
    servers back on the ports the running workers hold, as a real down/up does where the ports
    are still free."""
    state = StackState.load(data_dir)
    stop_tansu(state.tansu.pid if state.tansu else None)
    stop_postgres(pg_pid_from_datadir(data_dir))
    stop_seaweed(state.seaweed.pid if state.seaweed else None)
    _wait(stop, seconds)
    _restart(data_dir, "stack")


def server_pids(data_dir: Path, server: str) -> list[int]:
    """The processes to freeze: Tansu, weed, or the postmaster and all its backends."""
    state = StackState.load(data_dir)
    if server == "broker":
        return [state.tansu.pid] if state.tansu else []
    if server == "s3":
        return [state.seaweed.pid] if state.seaweed else []
    postmaster = pg_pid_from_datadir(data_dir)
    if postmaster is None:
        return []
    try:
        children = psutil.Process(postmaster).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [postmaster, *(c.pid for c in children)]


@contextlib.contextmanager
def frozen(pids: list[int]) -> Iterator[None]:
    """SIGSTOP on entry, SIGCONT on exit, whatever happens in between."""
    stopped: list[int] = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def pause(pids: list[int], seconds: float, stop: threading.Event) -> float:
    """Freeze the processes for ``seconds`` (less if the run is torn down); the time frozen."""
    if not pids:
        raise RuntimeError("nothing to pause: the process is not running")
    started = time.monotonic()
    with frozen(pids):
        stop.wait(seconds)
    return time.monotonic() - started


if __name__ == "__main__":
    restart(Path(sys.argv[1]), sys.argv[2])
