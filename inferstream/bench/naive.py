"""Scenario 2: our pipeline against two contenders on the same texts, each from publish to its
N-th committed row: a Quix Streams application written the way its users write it (quix_app)
and a per-message worker (naive_worker); plus an ablation table of where the gain comes from.
``--set runs=3`` runs the three in turn three times on one stack and reports each round's
ratios and their medians."""

from __future__ import annotations

import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from inferstream.bench import ablation, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.e2e import GPU_REPLICAS, ONE_EACH, replicas_label, use_gpu_partitions
from inferstream.bench.harness import bench_stack
from inferstream.bench.quix import ContenderRun, quix_version, run_per_message, run_quix
from inferstream.bench.report import Report

TARGET_CPU = 2.0
TARGET_GPU = 10.0
TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Config:
    n: int = 1000
    ablation_texts: int = 512
    # The Quix Streams contender. Off at tiny size (the bench smoke test): its process start
    # (torch, sentence-transformers, quixstreams) and warm-up checkpoint would add about a
    # minute of CI time for figures a tiny run does not give anyway.
    quix: bool = True
    runs: int = 1  # rounds of (pipeline, Quix, per-message) in turn
    # The ablation in a thread of its own while the contenders run, instead of after them. On
    # at tiny size: its torch and sentence-transformers import (~15 CPU s) and the per-message
    # worker's own (another ~15, in its process) then share the wall clock. Off at full size:
    # each would disturb the other's figures.
    ablation_beside: bool = False

    def __post_init__(self) -> None:
        if self.n < 1 or self.runs < 1:
            raise ValueError("--set n and runs: at least 1")

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=8, ablation_texts=4, quix=False, ablation_beside=True)


@dataclass(frozen=True)
class Round:
    ours: pipeline.PipelineRun
    quix: ContenderRun | None
    naive: ContenderRun


def _measure(config: Config, gpu: bool, device: str) -> list[Round]:
    # On a GPU ours runs with a process per partition in every stage (e2e's GPU variant); the
    # contenders' encode runs on the same GPU.
    replicas = GPU_REPLICAS if gpu else ONE_EACH
    use_gpu_partitions(gpu)
    rounds = []
    # share_workers: on the smoke test's reused stack, ours takes the worker set e2e and
    # latency left running instead of starting its own (the contenders read their own topics).
    with bench_stack(share_workers=True) as stack:
        for _ in range(config.runs):
            ours = pipeline.measure(stack, config.n, replicas, gpu=gpu)
            theirs = run_quix(stack, config.n, TIMEOUT_S, device) if config.quix else None
            naive = run_per_message(stack, config.n, TIMEOUT_S, device)
            rounds.append(Round(ours, theirs, naive))
            _progress(len(rounds), rounds[-1])
    return rounds


def _progress(i: int, r: Round) -> None:
    """Each round's rates as it ends (stderr): a long run cut short still shows what it had."""
    quix = f"quix {r.quix.rate:.2f}/s, " if r.quix else ""
    print(
        f"round {i}: ours {r.ours.rate:.2f}/s, {quix}per-message {r.naive.rate:.2f}/s",
        file=sys.stderr,
        flush=True,
    )


QUIX_ROW = "Quix Streams {version} app"
NAIVE_ROW = "per-message worker"
HOW = (
    "Quix Streams app: Application defaults (at-least-once, checkpoint every 5 s), "
    "sentence-transformers encode per message in apply, Quix's PostgreSQLSink (the rows of a "
    "checkpoint in one INSERT and transaction); per-message worker: confluent-kafka poll, "
    "sentence-transformers encode, INSERT + Postgres commit + offset commit per message. Both "
    "run torch with its defaults and write the same rows (id, vector(384)) to their own table; "
    "CPU: the process plus the stack's servers over the timed window (the pipeline: its "
    "workers plus the servers)"
)


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report(
        "naive", "our pipeline vs Quix Streams and a per-message worker", device=ctx.device.label
    )
    gpu = ctx.device.device == "cuda"
    ablation_texts = workload.texts(config.ablation_texts)
    with ThreadPoolExecutor(1) as pool:
        beside = pool.submit(_steps, ablation_texts) if config.ablation_beside else None
        rounds = _measure(config, gpu, ctx.device.device)
        steps = beside.result() if beside is not None else _steps(ablation_texts)
    replicas = replicas_label(GPU_REPLICAS if gpu else ONE_EACH)
    table = report.table(
        [
            "round",
            "contender (publish -> row committed)",
            "texts",
            "seconds",
            "sentences/s",
            "CPU s (process or workers + servers)",
            "CPU ms per text",
            "ours / it",
        ]
    )
    quix_label = QUIX_ROW.format(version=quix_version())
    for i, r in enumerate(rounds, 1):
        runs = [(f"inferstream pipeline ({replicas})", r.ours.texts, r.ours.seconds, r.ours.cpu)]
        if r.quix is not None:
            runs.append((quix_label, r.quix.texts, r.quix.seconds, r.quix.cpu))
        runs.append((NAIVE_ROW, r.naive.texts, r.naive.seconds, r.naive.cpu))
        for label, texts, seconds, cpu in runs:
            total = sum(cpu.values())
            ratio = r.ours.rate / (texts / seconds)
            table.add(i, label, texts, seconds, texts / seconds, total, 1000 * total / texts, ratio)
    report.notes.append(HOW)
    _targets(report, rounds, gpu)
    if not config.quix:
        report.notes.append("the Quix Streams contender was not run (--set quix=false, or --tiny)")
    if steps:
        _ablation(report, steps)
    if steps and config.ablation_beside:
        report.notes.append(
            "the ablation ran beside the contenders (--set ablation_beside=true, or --tiny): "
            "its figures and theirs disturb each other"
        )
    return report


def _targets(report: Report, rounds: list[Round], gpu: bool) -> None:
    """Median over the rounds of ours / each contender; the target is against Quix when it ran
    (what users write), else against the weaker per-message worker."""
    target = TARGET_GPU if gpu else TARGET_CPU
    naive = [r.ours.rate / r.naive.rate for r in rounds]
    quixes = [r.ours.rate / r.quix.rate for r in rounds if r.quix is not None]
    for name, ratios in (("Quix Streams", quixes), ("the per-message worker", naive)):
        if ratios:
            each = ", ".join(f"{x:.2f}x" for x in ratios)
            report.notes.append(
                f"ours / {name}: median {statistics.median(ratios):.2f}x over {len(ratios)} "
                f"round(s) ({each})"
            )
    against, ratios = ("Quix Streams", quixes) if quixes else ("naive", naive)
    median = statistics.median(ratios)
    report.target(f"ours >= {target:g}x {against} ({median:.2f}x, median)", median >= target)


def _steps(texts: list[str]) -> list[ablation.Step]:
    """Where the CPU gain comes from, step by step, in process (the ablation runs on the CPU:
    its steps are CPU options); none for no texts."""
    return ablation.run_ablation(texts) if texts else []


def _ablation(report: Report, steps: list[ablation.Step]) -> None:
    first = steps[0].rate
    abl = report.table(
        [
            "step (in-process, no Kafka/Postgres)",
            "sentences/s",
            "x naive encode",
            "min cosine vs fp32 ONNX",
        ],
        title=f"ablation: the same {steps[0].texts} texts",
    )
    for step in steps:
        cosine = "" if step.min_cosine is None else f"{step.min_cosine:.4f}"
        abl.add(step.name, step.rate, step.rate / first, cosine)
    int8 = steps[-1]
    if int8.min_cosine is not None:
        ok = int8.min_cosine >= ablation.COSINE_FLOOR
        report.notes.append(
            f"int8: min cosine {int8.min_cosine:.4f} vs fp32 "
            f"({'>=' if ok else '<'} {ablation.COSINE_FLOOR}); it is an option, not the default"
        )
