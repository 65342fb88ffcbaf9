"""`inferstream worker all` reports how each process ended in words, not as a Python dict."""

from __future__ import annotations

from inferstream.cli.workers_cmds import _codes


def test_exit_codes_and_signals_are_named() -> None:
    line = _codes({"enrich-0": 0, "infer-0": 1, "sink-0": -9, "archive-0": None})
    assert line == (
        "enrich-0 exit 0, infer-0 exit 1, sink-0 killed by signal 9, archive-0 exit unknown"
    )
