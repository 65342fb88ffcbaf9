"""Scenario 1: sentences/s of the whole pipeline (publish -> rows committed) vs the bare model
(tokenise + the same ONNX session at its best batch size) on the same texts, in one run."""

from __future__ import annotations

from dataclasses import dataclass

from inferstream.bench import bare, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report
from inferstream.models.embedder import cpu_cores

TARGET_RATIO = 0.85


@dataclass(frozen=True)
class Config:
    n: int = 3000
    probe: int = 512

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=40, probe=16)


def layouts(cores: int, gpu: bool) -> dict[str, tuple[int, int | None]]:
    """Model call layouts compared: name -> (parallel calls, intra-op threads per call)."""
    if gpu:
        return {"GPU, one call at a time": (1, None)}
    out: dict[str, tuple[int, int | None]] = {
        f"{cores} parallel calls x 1 thread (default)": (cores, 1)
    }
    if cores > 1:
        out[f"1 call x {cores} threads"] = (1, cores)
    return out


def pipeline_variants(cores: int, gpu: bool) -> dict[str, dict[str, str]]:
    """Pipeline runs compared: name -> worker environment."""
    variants: dict[str, dict[str, str]] = {"default": {}}
    if cores > 1 and not gpu:
        variants[f"infer 1 call x {cores} threads"] = {
            "INFERSTREAM_MODEL_PARALLEL_CALLS": "1",
            "INFERSTREAM_MODEL_INTRA_OP_THREADS": str(cores),
        }
    variants["default, sink without S3 artifacts"] = {"INFERSTREAM_WORKER_SINK_ARTIFACTS": "false"}
    return variants


def run(config: Config, ctx: BenchContext) -> Report:
    device = ctx.device
    report = Report("e2e", "whole pipeline vs bare model", device=device.label)
    texts = workload.texts(config.n)
    cores = cpu_cores()
    gpu = device.device == "cuda"
    with bench_stack() as stack:
        # The bare loop runs while the stack's servers are up but idle (no workers yet).
        best, sweep = bare.best_batch(texts, device.providers, probe=config.probe)
        sweep_table = report.table(
            ["batch", "texts", "sentences/s"],
            title=f"bare model sweep (first {config.probe} texts, default call layout)",
        )
        for r in sweep:
            sweep_table.add(r.batch, r.texts, r.rate)
        bares = {
            name: bare.run_bare(
                bare.embedder(best, device.providers, threads, parallel_calls=calls), texts, best
            )
            for name, (calls, threads) in layouts(cores, gpu).items()
        }
        runs = {
            name: pipeline.measure(stack, config.n, {"enrich": 1, "infer": 1, "sink": 1}, env)
            for name, env in pipeline_variants(cores, gpu).items()
        }
    base_name = max(bares, key=lambda n: bares[n].rate)
    base = bares[base_name]
    table = report.table(["contender", "texts", "seconds", "sentences/s", "ratio to best bare"])
    for name, b in bares.items():
        table.add(
            f"bare model, batch {best}, {name}", b.texts, b.seconds, b.rate, b.rate / base.rate
        )
    for name, run in runs.items():
        table.add(
            f"pipeline (enrich, infer, sink; 1 each), {name}",
            run.texts,
            run.seconds,
            run.rate,
            run.rate / base.rate,
        )
    default = runs["default"]
    cpu = report.table(
        ["process", "CPU seconds", "share of wall x cores"],
        title="where the CPU went during the default pipeline run",
    )
    capacity = default.seconds * cores
    for name, seconds in sorted(default.cpu.items(), key=lambda kv: -kv[1]):
        cpu.add(name, seconds, f"{100 * seconds / capacity:.0f}%")
    ratio = default.rate / base.rate
    report.target(f"pipeline >= {TARGET_RATIO}x bare ({ratio:.2f}x)", ratio >= TARGET_RATIO)
    report.notes.append(
        "the target is read on the default pipeline (artifacts on) against the best bare layout"
    )
    return report
