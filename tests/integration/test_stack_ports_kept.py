"""`inferstream down` then `up` on one data dir: the servers come back on their recorded ports
(workers started before the `down` hold those addresses), and a port taken meanwhile falls back
to a new one with one line that says so. Real servers, through the real CLI."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from _stack import Stack, start_stack

from inferstream.stack import down
from inferstream.stack.state import STATE_FILE, StackState


def _ports(data_dir: Path) -> dict[str, int]:
    state = StackState.load(data_dir)
    assert state.tansu is not None and state.seaweed is not None
    return {"kafka": state.tansu.port, "s3": state.seaweed.s3_port}


def _down(stack: Stack) -> None:
    result = stack.cli("down")
    assert result.returncode == 0, result.stderr


def test_down_then_up_keeps_the_ports_and_a_taken_one_moves_with_a_warning(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    stack = start_stack(data_dir)
    try:
        first = _ports(data_dir)
        _down(stack)
        # The record keeps the ports and no pid of a stopped server.
        doc = json.loads((data_dir / STATE_FILE).read_text())
        assert doc == {"tansu": None, "postgres": None, "seaweed": None, "ports": first}
        status = stack.cli("status")
        assert status.returncode == 1 and "127.0.0.1:" not in status.stdout

        again = stack.cli("up")
        assert again.returncode == 0, again.stderr
        assert _ports(data_dir) == first
        assert "was taken" not in again.stderr

        _down(stack)
        with socket.socket() as taker:  # another program listens on the broker's port
            taker.bind(("127.0.0.1", first["kafka"]))
            taker.listen()
            moved = stack.cli("up")
        assert moved.returncode == 0, moved.stderr
        now = _ports(data_dir)
        assert now["s3"] == first["s3"] and now["kafka"] != first["kafka"]
        warnings = [line for line in moved.stderr.splitlines() if "was taken" in line]
        assert warnings == [
            f"warning: Kafka (Tansu) port {first['kafka']} was taken, now {now['kafka']}: "
            "workers started before this `up` hold the old address and must be restarted"
        ]
    finally:
        down(data_dir)
