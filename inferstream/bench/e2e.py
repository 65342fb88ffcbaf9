"""Scenario 1: sentences/s of the whole pipeline (publish -> rows committed) vs the bare model
(tokenise + the same ONNX session at its best batch size) on the same texts, in one run."""

from __future__ import annotations

import os
from dataclasses import dataclass

from inferstream.bench import bare, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.gpu import GpuSampler
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Cell, Report
from inferstream.models.embedder import cpu_cores

TARGET_RATIO = 0.85
GPU_GOAL = 30_000  # sentences/s end to end on one H100: the product's GPU goal


@dataclass(frozen=True)
class Config:
    n: int = 3000
    probe: int = 512
    # The bare sweep runs every batch size this many times and keeps each size's best: the
    # baseline is the model at its best, not a size picked by one noisy round.
    sweep_rounds: int = 2
    # Every pipeline variant and bare call layout below, or only the default ones (what the
    # target is read on): a tiny run proves each path once instead of paying each variant's
    # worker start-up and each layout's texts.
    variants: bool = True

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=16, probe=8, sweep_rounds=1, variants=False)


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


ONE_EACH = {"enrich": 1, "infer": 1, "sink": 1}
# Next to a GPU the model is no longer the bottleneck: the CPU work around it is (decoding, the
# bug_report dedup scorer, encoding, the sink). So every stage gets one process per partition;
# the model calls of the infer processes share the GPU. The embedded stack creates 2
# partitions, so a GPU run's stack is brought up with 4 (use_gpu_partitions).
GPU_REPLICAS = {"enrich": 4, "infer": 4, "sink": 4}
PARTITIONS_ENV = "INFERSTREAM_TOPOLOGY_PARTITIONS"
# Larger batches for the GPU's sake: the sweep shows ~256 as the model's best on an H100, but
# the dedup scorer compares each report with every earlier report of its batch (O(batch^2)).
GPU_BATCH = {
    "INFERSTREAM_WORKER_BATCH_MAX_ITEMS": "256",
    "INFERSTREAM_WORKER_BATCH_MAX_COST": str(256 * 256),
    "INFERSTREAM_WORKER_MODEL_CALL_MAX_TOKENS": str(256 * 256),
    "INFERSTREAM_WORKER_MAX_IN_FLIGHT": "4096",
}
NO_ARTIFACTS = {"INFERSTREAM_WORKER_SINK_ARTIFACTS": "false"}

Variant = tuple[dict[str, int], dict[str, str]]


def use_gpu_partitions(gpu: bool) -> None:
    """On a GPU, give the stacks this process starts a partition per GPU_REPLICAS process
    (read by `inferstream up`; an explicit INFERSTREAM_TOPOLOGY_PARTITIONS is kept)."""
    if gpu:
        os.environ.setdefault(PARTITIONS_ENV, str(max(GPU_REPLICAS.values())))


def pipeline_variants(cores: int, gpu: bool) -> dict[str, Variant]:
    """Pipeline runs compared: name -> (replicas per stage, worker environment)."""
    variants: dict[str, Variant] = {"default": (ONE_EACH, {})}
    if gpu:
        variants["a process per partition"] = (GPU_REPLICAS, {})
        variants["a process per partition, sink without S3 artifacts"] = (
            GPU_REPLICAS,
            NO_ARTIFACTS,
        )
        variants["a process per partition, batch 256"] = (GPU_REPLICAS, GPU_BATCH)
        return variants
    if cores > 1:
        variants[f"infer 1 call x {cores} threads"] = (
            ONE_EACH,
            {
                "INFERSTREAM_MODEL_PARALLEL_CALLS": "1",
                "INFERSTREAM_MODEL_INTRA_OP_THREADS": str(cores),
            },
        )
    variants["default, sink without S3 artifacts"] = (ONE_EACH, NO_ARTIFACTS)
    return variants


def replicas_label(replicas: dict[str, int]) -> str:
    return ", ".join(f"{stage} {count}" for stage, count in replicas.items())


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run(config: Config, ctx: BenchContext) -> Report:
    device = ctx.device
    report = Report("e2e", "whole pipeline vs bare model", device=device.label)
    texts = workload.texts(config.n)
    cores = cpu_cores()
    gpu = device.device == "cuda"
    sizes: tuple[int, ...] = bare.GPU_BATCH_SIZES if gpu else bare.BATCH_SIZES
    # Sizes past the first that embeds the probe's texts in one chunk repeat that chunk: left
    # out (a tiny run's probe of 8: sizes 1 and 8, 2 ONNX sessions instead of 6).
    sizes = (*[b for b in sizes if b < config.probe], *[b for b in sizes if b >= config.probe][:1])
    variants = pipeline_variants(cores, gpu)
    call_layouts = layouts(cores, gpu)
    if not config.variants:
        variants = {"default": variants["default"]}
        call_layouts = dict(list(call_layouts.items())[:1])
    use_gpu_partitions(gpu)
    with bench_stack(share_workers=True) as stack:
        # The bare loop runs while the stack's servers are up but idle (no workers yet).
        best, sweep = bare.best_batch(
            texts, device.providers, sizes, probe=config.probe, rounds=config.sweep_rounds
        )
        rounds = f", best of {config.sweep_rounds} rounds" if config.sweep_rounds > 1 else ""
        sweep_table = report.table(
            ["batch", "texts", "sentences/s"],
            title=f"bare model sweep (first {config.probe} texts, default call layout{rounds})",
        )
        for r in sweep:
            sweep_table.add(r.batch, r.texts, r.rate)
        bares: dict[str, tuple[bare.BareResult, float | None]] = {}
        for name, (calls, threads) in call_layouts.items():
            model = bare.embedder(best, device.providers, threads, parallel_calls=calls)
            with GpuSampler(enabled=gpu) as sampler:
                result = bare.run_bare(model, texts, best)
            bares[name] = (result, sampler.mean)
        runs = {
            name: pipeline.measure(stack, config.n, replicas, env, gpu=gpu)
            for name, (replicas, env) in variants.items()
        }
    base_name = max(bares, key=lambda n: bares[n][0].rate)
    base = bares[base_name][0]
    columns = ["contender", "texts", "seconds", "sentences/s", "ratio to best bare"]
    columns += ["infer batch (mean)", "batch fill (mean)"]
    if gpu:
        columns.append("GPU util (mean)")
    table = report.table(columns)
    for name, (b, util) in bares.items():
        row: list[Cell] = [f"bare model, batch {best}, {name}", b.texts, b.seconds, b.rate]
        row += [b.rate / base.rate, best, "-"]
        table.add(*row, *([_pct(util)] if gpu else []))
    for name, run in runs.items():
        replicas = variants[name][0]
        row = [f"pipeline ({replicas_label(replicas)}), {name}", run.texts, run.seconds]
        row += [run.rate, run.rate / base.rate]
        row += [_num(run.infer_batches.mean_size), _num(run.infer_batches.mean_fill)]
        table.add(*row, *([_pct(run.gpu_util)] if gpu else []))
    default = runs["default"]
    _cpu_table(report, "default", default, cores)
    fastest = max(runs, key=lambda n: runs[n].rate)
    if fastest != "default":
        _cpu_table(report, fastest, runs[fastest], cores)
    ratio = default.rate / base.rate
    report.target(f"pipeline >= {TARGET_RATIO}x bare ({ratio:.2f}x)", ratio >= TARGET_RATIO)
    report.notes.append(
        "the target is read on the default pipeline (artifacts on) against the best bare layout"
    )
    if gpu:
        best_rate = runs[fastest].rate
        report.notes.append(
            f"GPU goal: >= {GPU_GOAL:,} sentences/s end to end; best pipeline run "
            f"here {best_rate:,.0f}/s ({fastest})"
        )
    return report


def _cpu_table(report: Report, name: str, run: pipeline.PipelineRun, cores: int) -> None:
    cpu = report.table(
        ["process", "CPU seconds", "share of wall x cores"],
        title=f"where the CPU went during the pipeline run '{name}'",
    )
    capacity = run.seconds * cores
    for process, seconds in sorted(run.cpu.items(), key=lambda kv: -kv[1]):
        cpu.add(process, seconds, f"{100 * seconds / capacity:.0f}%")
