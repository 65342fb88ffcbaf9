"""The sink benchmark's CPU split: a connection's backend CPU read from /proc by its pid."""

from __future__ import annotations

import math
import os
import time
from types import SimpleNamespace
from typing import Any, cast

from inferstream.bench import sink


def _conn(pid: int) -> Any:
    return cast(Any, SimpleNamespace(info=SimpleNamespace(backend_pid=pid)))


def test_backend_seconds_reads_the_backends_cpu() -> None:
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass  # this process stands in for the backend: it has used >= 50 ms
    seconds = sink.backend_seconds(_conn(os.getpid()))
    assert 0.04 <= seconds <= time.process_time() + 0.02


def test_backend_seconds_of_a_gone_backend_is_nan() -> None:
    assert math.isnan(sink.backend_seconds(_conn(2**22 + 12345)))


def test_timing_cpu_is_client_plus_backend() -> None:
    assert sink.Timing(seconds=2.0, client=0.25, backend=0.5).cpu == 0.75
