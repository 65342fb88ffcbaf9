"""Scenario 7: RSS of each worker while a large backlog waits. The backlog is published before
the workers start; input partitions pause at INFERSTREAM_WORKER_MAX_IN_FLIGHT records, so the
resident memory must level off instead of growing with the backlog."""

from __future__ import annotations

import re
import time
import urllib.request
from dataclasses import dataclass

from inferstream.bench import procs, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import bench_stack
from inferstream.bench.report import Report

PAUSED = re.compile(r"^inferstream_partitions_paused\{[^}]*\} ([0-9.e+]+)$", re.M)
DEPTH = re.compile(r"^inferstream_queue_depth\{[^}]*\} ([0-9.e+]+)$", re.M)


@dataclass(frozen=True)
class Config:
    n: int = 100_000
    seconds: float = 90.0  # observation window after the workers start
    every_s: float = 2.0

    @classmethod
    def tiny(cls) -> Config:
        return cls(n=200, seconds=3.0, every_s=1.0)


def _metric(port: int, pattern: re.Pattern[str]) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return float("nan")
    values = [float(v) for v in pattern.findall(text)]
    return max(values) if values else float("nan")


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report(
        "memory", f"worker RSS with {config.n} submissions waiting", device=ctx.device.label
    )
    samples: list[tuple[float, dict[str, float], dict[str, float], dict[str, float]]] = []
    with bench_stack() as stack:
        published = time.monotonic()
        stack.publish(workload.payloads(config.n), source="bench-backlog")
        publish_s = time.monotonic() - published
        supervisor = stack.start_workers({"enrich": 1, "infer": 1, "sink": 1})
        started = time.monotonic()
        deadline = started + config.seconds
        while time.monotonic() < deadline:
            stack.check_workers()
            rss = procs.rss_mib(stack.supervisors)
            paused = {n: _metric(p, PAUSED) for n, p in supervisor.ports.items()}
            depth = {n: _metric(p, DEPTH) for n, p in supervisor.ports.items()}
            samples.append((time.monotonic() - started, rss, paused, depth))
            time.sleep(config.every_s)  # the sampling period
        done = stack.count_all()
    names = sorted(samples[0][1]) if samples else []
    table = report.table(
        [
            "worker",
            "RSS first MiB",
            "RSS max MiB",
            "RSS last MiB",
            "max queue depth",
            "paused (samples)",
        ],
        title=(
            f"{config.n} submissions published in {publish_s:.1f} s before the workers "
            f"started; sampled every {config.every_s:g} s for {config.seconds:g} s; "
            f"{done} results committed meanwhile"
        ),
    )
    for name in names:
        series = [s[1].get(name, float("nan")) for s in samples]
        n_paused = sum(1 for s in samples if s[2].get(name) == 1.0)
        max_depth = max((s[3].get(name, 0.0) for s in samples), default=0.0)
        table.add(name, series[0], max(series), series[-1], max_depth, f"{n_paused}/{len(samples)}")
    half = len(samples) // 2
    for name in names:
        late = [s[1][name] for s in samples[half:] if name in s[1]]
        early = [s[1][name] for s in samples[:half] if name in s[1]]
        if early and late:
            report.notes.append(
                f"{name}: max RSS first half {max(early):.0f} MiB, second half {max(late):.0f} MiB"
            )
    return report
