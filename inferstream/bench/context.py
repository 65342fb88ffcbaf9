"""What every scenario gets: the device and where to put figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inferstream.bench.device import DeviceChoice


@dataclass(frozen=True)
class BenchContext:
    device: DeviceChoice
    figures_dir: Path  # PNG plots (docs/benchmarks/ by default)
    tiny: bool = False  # smoke-test size: proves the scenario runs, measures nothing
