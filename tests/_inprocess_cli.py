"""Run `inferstream ARGS` inside the test process: the CLI's own entry point (``cli.main``: the
same command table, the same one-line handling of user mistakes and exit codes) without the
second or two of CPU a fresh interpreter spends importing it. For the many tests whose point is
what a command says, not that it runs in a process of its own (tests/unit/cli/test_cli_errors.py
keeps that end to end). Imported as ``_inprocess_cli``."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from inferstream.cli import main


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> Outcome:
    monkeypatch.setattr(sys, "argv", ["inferstream", *args])
    capsys.readouterr()  # what the test printed before is not the command's
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    out, err = capsys.readouterr()
    return Outcome(code, out, err)
