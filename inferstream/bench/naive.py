"""Scenario 2: our pipeline vs a naive per-message worker on the same texts, plus an ablation
table of where the gain comes from."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

from inferstream.bench import ablation, naive_worker, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.e2e import GPU_REPLICAS, ONE_EACH, replicas_label, use_gpu_partitions
from inferstream.bench.harness import BenchError, BenchStack, bench_stack, wait_for_ids
from inferstream.bench.report import Report

TARGET_CPU = 2.0
TARGET_GPU = 10.0


@dataclass(frozen=True)
class Config:
    n: int = 1000
    ablation_texts: int = 512

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=20, ablation_texts=16)


def _naive_rate(
    stack: BenchStack, n: int, timeout_s: float, device: str = "cpu"
) -> tuple[float, float]:
    """(sentences/s, seconds) of the naive worker from publish to its n-th committed row."""
    conninfo = stack.conninfo()
    naive_worker.create_table(conninfo)
    naive_worker.create_topic(stack.kafka.bootstrap_servers)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inferstream.bench.naive_worker",
            stack.kafka.bootstrap_servers,
            conninfo,
            str(n),
            str(naive_worker.IDLE_S),
            device,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise BenchError(
                f"naive worker did not start: {proc.stderr.read()[-500:] if proc.stderr else ''}"
            )
        started = time.monotonic()
        ids = stack.publish(workload.payloads(n), source="bench-naive", topic=naive_worker.TOPIC)

        exited: list[bool] = []

        def alive() -> None:
            if proc.poll() is None:
                return
            if not exited:  # it exits once done: one more poll sees its last commit
                exited.append(True)
                return
            out = proc.stdout.read()[-300:] if proc.stdout else ""
            err = proc.stderr.read()[-300:] if proc.stderr else ""
            raise BenchError(f"naive worker exited ({proc.returncode}): {out}{err}")

        finished = wait_for_ids(conninfo, naive_worker.TABLE, ids, timeout_s, 0.1, alive)
        return n / (finished - started), finished - started
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("naive", "our pipeline vs a naive per-message worker", device=ctx.device.label)
    gpu = ctx.device.device == "cuda"
    # On a GPU ours runs with a process per partition in every stage (e2e's GPU variant); the
    # naive worker's encode runs on the same GPU.
    replicas = GPU_REPLICAS if gpu else ONE_EACH
    use_gpu_partitions(gpu)
    with bench_stack() as stack:
        ours = pipeline.measure(stack, config.n, replicas, gpu=gpu)
        naive_rate, naive_s = _naive_rate(stack, config.n, 1800.0, ctx.device.device)
    ratio = ours.rate / naive_rate
    table = report.table(
        ["contender (publish -> row committed)", "texts", "seconds", "sentences/s", "ratio"]
    )
    table.add(
        "naive: confluent-kafka poll, sentence-transformers encode per message, INSERT + commit "
        "per message",
        config.n,
        naive_s,
        naive_rate,
        1.0,
    )
    table.add(
        f"inferstream pipeline ({replicas_label(replicas)})",
        ours.texts,
        ours.seconds,
        ours.rate,
        ratio,
    )
    target = TARGET_GPU if gpu else TARGET_CPU
    report.target(f"ours >= {target:g}x naive ({ratio:.2f}x)", ratio >= target)
    if config.ablation_texts > 0:
        _ablation(report, config.ablation_texts)
    return report


def _ablation(report: Report, n: int) -> None:
    """Where the CPU gain comes from, step by step, in process (the ablation runs on the CPU:
    its steps are CPU options)."""
    texts = workload.texts(n)
    steps = ablation.run_ablation(texts)
    first = steps[0].rate
    abl = report.table(
        [
            "step (in-process, no Kafka/Postgres)",
            "sentences/s",
            "x naive encode",
            "min cosine vs fp32 ONNX",
        ],
        title=f"ablation: the same {len(texts)} texts",
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
