"""GPU utilisation while a benchmark step runs (nvidia-smi sampled on a thread); no GPU, no
samples. Kept apart from benchmarks/gpu_check.py, which must run without the package."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
from types import TracebackType

INTERVAL_S = 0.2


class GpuSampler:
    """``with GpuSampler() as gpu: ...`` then ``gpu.mean``: the mean utilisation (%), or None
    where nvidia-smi is absent or answered nothing."""

    def __init__(self, enabled: bool = True) -> None:
        self._smi = shutil.which("nvidia-smi") if enabled else None
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if self._smi is not None:
            self._thread = threading.Thread(target=self._loop, name="gpu-sampler", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        assert self._smi is not None
        query = [self._smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            try:
                out = subprocess.run(
                    query, capture_output=True, text=True, timeout=5, check=False
                ).stdout.split()
                if out:
                    self.samples.append(float(out[0]))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                return  # a broken nvidia-smi: report what was sampled so far
            self._stop.wait(INTERVAL_S)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=6)

    @property
    def mean(self) -> float | None:
        return statistics.mean(self.samples) if self.samples else None
