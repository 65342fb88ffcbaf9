"""Throughput of the whole pipeline on a running BenchStack: publish N, time until N rows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from inferstream.bench import procs, workload
from inferstream.bench.gpu import GpuSampler
from inferstream.bench.harness import BenchStack

WARMUP = 64


@dataclass(frozen=True)
class PipelineRun:
    texts: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds per worker and server during the timed run
    infer_batches: procs.BatchStats  # the infer stage's batches closed during the timed run
    gpu_util: float | None = None  # mean GPU utilisation (%) during the timed run, if sampled

    @property
    def rate(self) -> float:
        return self.texts / self.seconds


def warm_up(stack: BenchStack, timeout_s: float = 300.0, n: int = WARMUP) -> None:
    """A first batch through every stage (first-call allocations, group joins, connections)."""
    stack.wait_rows(stack.publish(workload.payloads(n), source="bench-warmup"), timeout_s)


def saturate(stack: BenchStack, n: int, timeout_s: float = 900.0, gpu: bool = False) -> PipelineRun:
    """Publish ``n`` texts as fast as the producer goes to the running workers; time until every
    row is committed. ``gpu``: sample the GPU's utilisation meanwhile."""
    before = {**procs.cpu_seconds(stack.supervisors), **procs.server_cpu_seconds(stack.data_dir)}
    batches_before = procs.batch_stats(stack.supervisors, "infer")
    with GpuSampler(enabled=gpu) as sampler:
        started = time.monotonic()
        ids = stack.publish(workload.payloads(n), source="bench")
        finished = stack.wait_rows(ids, timeout_s, poll_s=0.1)
    after = {**procs.cpu_seconds(stack.supervisors), **procs.server_cpu_seconds(stack.data_dir)}
    batches = procs.batch_stats(stack.supervisors, "infer") - batches_before
    return PipelineRun(n, finished - started, procs.delta(after, before), batches, sampler.mean)


def measure(
    stack: BenchStack,
    n: int,
    replicas: Mapping[str, int],
    env: Mapping[str, str] | None = None,
    timeout_s: float = 900.0,
    gpu: bool = False,
) -> PipelineRun:
    """Start the stages, warm them up, saturate with ``n`` texts, stop the workers. Every run
    starts from an empty results table: runs compared in one scenario score their reports
    against the same (no) history, not against every earlier run's reports."""
    stack.forget_results()
    stack.start_workers(replicas, env)
    try:
        warm_up(stack, timeout_s, min(WARMUP, n))  # no larger than the run it warms up
        return saturate(stack, n, timeout_s, gpu)
    finally:
        stack.stop_workers()
