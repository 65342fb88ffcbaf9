"""Signal handling shared by the long-running commands (demo, chaos)."""

from __future__ import annotations

from types import FrameType


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a CI job cancelled, `kill`) unwinds like Ctrl-C: SystemExit runs the finally
    blocks and teardowns that stop workers and servers, and the exit code is 128 + the signal's
    number, as a shell reports a process the signal ended."""
    raise SystemExit(128 + signum)
