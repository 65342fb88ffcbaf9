"""The decode pool's processes end with their worker, even one that is SIGKILLed (a spawned
pool process would otherwise block on its call queue forever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_pool_processes_exit_when_the_worker_is_killed() -> None:
    code = (
        "import os, sys\n"
        "from inferstream.tasks.media.pool import decode_pool\n"
        "pool = decode_pool(2)\n"
        "list(pool.map(abs, range(4)))\n"  # the pool's processes are started on first use
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "sys.stdin.read()\n"  # wait to be killed
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        children = [int(p) for p in parent.stdout.readline().split()]
        assert len(children) == 2 and all(_alive(pid) for pid in children)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, "pool processes outlived their worker"
            time.sleep(0.1)
    finally:
        parent.kill()
        parent.wait(timeout=60)
