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
    cores = os.cpu_count() or 1
    with bench_stack() as stack:
        # The bare loop runs while the stack's servers are up but idle (no workers yet).
        best, sweep = bare.best_batch(texts, device.providers, probe=config.probe)
        sweep_table = report.table(
            ["batch", "texts", "sentences/s"],
            title=f"bare model sweep (first {config.probe} texts, one thread per core)",
        )
        for r in sweep:
            sweep_table.add(r.batch, r.texts, r.rate)
        bares = {
            threads: bare.run_bare(
                bare.embedder(best, device.providers, intra_op_threads=threads), texts, best
            )
            for threads in sorted({1, cores})
        }
        runs = {
            threads: pipeline.measure(
                stack,
                config.n,
                {"enrich": 1, "infer": 1, "sink": 1},
                {"INFERSTREAM_MODEL_INTRA_OP_THREADS": str(threads)},
            )
            for threads in sorted({1, cores})
        }
    base_threads = max(bares, key=lambda t: bares[t].rate)
    base = bares[base_threads]
    table = report.table(["contender", "texts", "seconds", "sentences/s", "ratio to best bare"])
    for threads, b in bares.items():
        table.add(
            f"bare model, batch {best}, {threads} intra-op thread(s)",
            b.texts,
            b.seconds,
            b.rate,
            b.rate / base.rate,
        )
    for threads, run in runs.items():
        table.add(
            f"pipeline (enrich, infer, sink; 1 each), infer {threads} intra-op thread(s)",
            run.texts,
            run.seconds,
            run.rate,
            run.rate / base.rate,
        )
    best_threads = max(runs, key=lambda t: runs[t].rate)
    best_run = runs[best_threads]
    cpu = report.table(
        ["process", "CPU seconds", "share of wall x cores"],
        title=f"where the CPU went during the best pipeline run ({best_threads} thread(s))",
    )
    capacity = best_run.seconds * cores
    for name, seconds in sorted(best_run.cpu.items(), key=lambda kv: -kv[1]):
        cpu.add(name, seconds, f"{100 * seconds / capacity:.0f}%")
    ratio = best_run.rate / base.rate
    report.target(f"pipeline >= {TARGET_RATIO}x bare ({ratio:.2f}x)", ratio >= TARGET_RATIO)
    return report
