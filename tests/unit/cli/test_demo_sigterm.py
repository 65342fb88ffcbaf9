"""`inferstream demo` on SIGTERM: unwinds like Ctrl-C, so the finally blocks that stop its
workers run (before, the process died at once and its four workers ran on, orphaned)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import os, signal, time
from inferstream.cli.signals import exit_on_sigterm
signal.signal(signal.SIGTERM, exit_on_sigterm)
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
finally:
    print("workers stopped", flush=True)
"""


def test_sigterm_unwinds_through_finally_with_exit_143() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stderr
    assert done.stdout == "workers stopped\n"
    assert "Traceback" not in done.stderr
