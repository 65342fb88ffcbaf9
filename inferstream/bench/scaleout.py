"""Scenario 6: one vs two infer workers in one consumer group (enrich and sink: one each)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from inferstream.bench import pipeline
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report


@dataclass(frozen=True)
class Config:
    n: int = 2000

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=16)


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("scaleout", "1 vs 2 infer workers in one group", device=ctx.device.label)
    runs = {}
    with bench_stack(share_workers=True) as stack:
        for infer in (1, 2):
            runs[infer] = pipeline.measure(
                stack, config.n, {"enrich": 1, "infer": infer, "sink": 1}
            )
    table = report.table(
        ["infer workers", "texts", "seconds", "sentences/s", "ratio to 1", "infer CPU s"]
    )
    for infer, run in runs.items():
        cpu = sum(v for k, v in run.cpu.items() if k.startswith("infer"))
        table.add(infer, run.texts, run.seconds, run.rate, run.rate / runs[1].rate, cpu)
    report.notes.append(
        f"{os.cpu_count()} cores: each infer worker makes one model call per core at once "
        "(INFERSTREAM_MODEL_PARALLEL_CALLS unset), so on a small CPU two workers share the same "
        "cores and the ratio measures contention; on a GPU machine or with more cores they add "
        "capacity"
    )
    return report
