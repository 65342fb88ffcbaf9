"""Scenario 1: sentences/s of the whole pipeline (publish -> rows committed) vs the bare model
(tokenise + the same ONNX session at its best batch size) on the same texts, in one run."""

from __future__ import annotations

import os
from dataclasses import dataclass

from inferstream.bench import bare, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report

TARGET_RATIO = 0.85


@dataclass(frozen=True)
class Config:
    n: int = 3000
    probe: int = 512

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=40, probe=16)


def run(config: Config, ctx: BenchContext) -> Report:
    device = ctx.device
    report = Report("e2e", "whole pipeline vs bare model", device=device.label)
    texts = workload.texts(config.n)
    with bench_stack() as stack:
        # The bare loop runs while the stack's servers are up but idle (no workers yet).
        best, sweep = bare.best_batch(texts, device.providers, probe=config.probe)
        sweep_table = report.table(
            ["batch", "texts", "sentences/s"],
            title=f"bare model sweep (first {config.probe} texts)",
        )
        for r in sweep:
            sweep_table.add(r.batch, r.texts, r.rate)
        base = bare.run_bare(bare.embedder(best, device.providers), texts, best)
        run = pipeline.measure(stack, config.n, {"enrich": 1, "infer": 1, "sink": 1})
    ratio = run.rate / base.rate
    table = report.table(["contender", "texts", "seconds", "sentences/s", "ratio to bare"])
    table.add(f"bare model, batch {best}", base.texts, base.seconds, base.rate, 1.0)
    table.add("pipeline (enrich, infer, sink; 1 each)", run.texts, run.seconds, run.rate, ratio)
    cpu = report.table(
        ["process", "CPU seconds", "share of wall x cores"],
        title="where the CPU went during the pipeline run",
    )
    capacity = run.seconds * (os.cpu_count() or 1)
    for name, seconds in sorted(run.cpu.items(), key=lambda kv: -kv[1]):
        cpu.add(name, seconds, f"{100 * seconds / capacity:.0f}%")
    report.target(f"pipeline >= {TARGET_RATIO}x bare ({ratio:.2f}x)", ratio >= TARGET_RATIO)
    return report
