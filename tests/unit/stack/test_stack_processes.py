"""The embedded stack's process helpers that need no server: ports, polling with a deadline,
and the log tail an error message quotes."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from inferstream.ports import log_since
from inferstream.stack.processes import port_is_free, tail, wait_until


def test_a_listening_port_is_taken_and_a_closed_one_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        assert not port_is_free(port)
    assert port_is_free(port)


def test_log_since_reads_an_attempts_own_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_bytes(b"first attempt: bind: address already in use\n")
    start = log.stat().st_size
    with log.open("ab") as out:
        out.write(b"second attempt: ready\n")
    assert log_since(log, start) == b"second attempt: ready\n"
    assert log_since(tmp_path / "missing.log", 0) == b""


def test_wait_until_returns_as_soon_as_the_check_holds() -> None:
    calls = iter([False, False, True])
    assert wait_until(lambda: next(calls), timeout_s=5, interval_s=0.001)


def test_wait_until_gives_up_at_the_deadline() -> None:
    started = time.monotonic()
    assert not wait_until(lambda: False, timeout_s=0.05, interval_s=0.01)
    assert 0.05 <= time.monotonic() - started < 2.0


def test_tail_quotes_the_last_lines_or_says_there_is_no_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {n}\n" for n in range(40)))
    assert tail(log, 3) == "line 37\nline 38\nline 39"
    assert tail(tmp_path / "missing.log") == "(no log)"
