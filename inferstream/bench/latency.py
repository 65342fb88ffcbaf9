"""Scenario 3: open-loop latency vs load. The producer sends on a fixed schedule (it never waits
for the pipeline) at 25/50/75/100% of the throughput measured first; latency is publish ->
row committed (created_at - submitted_at of each row)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from inferstream.bench import latency_hops, pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import TASK, BenchStack, bench_stack
from inferstream.bench.report import Report, percentile
from inferstream.client import Publisher

LOADS = (0.25, 0.50, 0.75, 1.00)
# p99 targets by offered load (issue targets of the data path): bigger batches must not buy
# throughput with latency.
TARGETS_P99_S = {0.50: 0.5, 0.75: 1.0}
TARGET_P99_S = 1.0  # the plot's reference line
# report.percentile is nearest-rank: up to this many values, its p99 is the largest one.
NEAREST_RANK_MAX_N = 51
PLOT = "latency-vs-load.png"


@dataclass(frozen=True)
class Config:
    n_max: int = 1500  # texts for the throughput measurement
    seconds: float = 30.0  # per load level
    # The 100 % rate, texts/s; 0: measured first (closed loop). Give it to compare runs at the
    # same offered rates: a measured maximum swings with the machine's load.
    rate: float = 0.0

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise ValueError("--set rate: texts/s, or 0 to measure the maximum first")

    @classmethod
    def tiny(cls) -> Config:
        return cls(n_max=16, seconds=0.5)


@dataclass(frozen=True)
class Level:
    load: float
    rate: float  # offered, texts/s
    sent: int
    achieved: float  # sent / actual send duration
    p50: float
    p95: float
    p99: float
    max: float
    hops: latency_hops.Split  # the same latency split at the stages (latency_hops.py)


def open_loop(
    stack: BenchStack, publisher: Publisher, rate: float, seconds: float, timeout_s: float
) -> tuple[list[str], float]:
    """Send at ``rate`` texts/s for ``seconds`` on a fixed schedule; returns ids and send time."""
    n = max(1, round(rate * seconds))
    payloads = workload.payloads(n)
    ids = [str(uuid.uuid4()) for _ in payloads]
    interval = 1.0 / rate
    start = time.monotonic()
    for i, (sid, payload) in enumerate(zip(ids, payloads, strict=True)):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the schedule, not a synchronisation
        publisher.publish(payload, submission_id=sid, wait=False)
    sent_in = time.monotonic() - start
    publisher.flush()
    stack.wait_rows(ids, timeout_s)
    return ids, sent_in


def warm_publisher(stack: BenchStack) -> Publisher:
    """A publisher that has connected and holds its producer id: a new producer's first record
    waited ~0.5 s for both (the enrich hop of the first record of each level, which was the
    p99 of a level of 20), which a long-lived producer pays once, not per record."""
    publisher = Publisher(TASK, stack.kafka, source="bench-latency")
    first = publisher.publish(workload.payloads(1)[0], submission_id=str(uuid.uuid4()))
    stack.wait_rows([first], 300.0)  # the pipeline is idle again when the first level starts
    return publisher


def plot(levels: list[Level], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    loads = [100 * lv.load for lv in levels]
    for name, values in (
        ("p50", [lv.p50 for lv in levels]),
        ("p95", [lv.p95 for lv in levels]),
        ("p99", [lv.p99 for lv in levels]),
    ):
        ax.plot(loads, values, marker="o", label=name)
    ax.axhline(TARGET_P99_S, color="grey", linestyle="--", linewidth=0.8, label="1 s")
    ax.set_xlabel("offered load, % of measured max throughput")
    ax.set_ylabel("publish -> committed, s")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("latency", "open-loop latency vs load", device=ctx.device.label)
    levels: list[Level] = []
    with bench_stack(share_workers=True) as stack:
        stack.start_workers({"enrich": 1, "infer": 1, "sink": 1})
        pipeline.warm_up(stack, n=min(pipeline.WARMUP, config.n_max))  # no larger than the run
        peak_rate = config.rate or pipeline.saturate(stack, config.n_max).rate
        publisher = warm_publisher(stack)
        for load in LOADS:
            rate = peak_rate * load
            since = time.time()
            ids, sent_in = open_loop(stack, publisher, rate, config.seconds, timeout_s=600.0)
            lat = stack.latencies(ids)
            levels.append(
                Level(
                    load,
                    rate,
                    len(ids),
                    len(ids) / max(sent_in, 1e-9),
                    percentile(lat, 0.50),
                    percentile(lat, 0.95),
                    percentile(lat, 0.99),
                    max(lat) if lat else float("nan"),
                    latency_hops.split(stack, ids, since),
                )
            )
        publisher.close()
    title = (
        f"100 % = {peak_rate:.1f} texts/s, given (--set rate)"
        if config.rate
        else f"max throughput (closed loop, {config.n_max} texts): {peak_rate:.1f} texts/s"
    )
    table = report.table(
        [
            "load",
            "offered texts/s",
            "sent",
            "p50 s",
            "p95 s",
            "p99 s",
            "max s",
            *(f"{hop} p50 / p99 s" for hop in latency_hops.HOPS),
        ],
        title=title,
    )
    for lv in levels:
        table.add(
            f"{100 * lv.load:.0f}%",
            lv.rate,
            lv.sent,
            lv.p50,
            lv.p95,
            lv.p99,
            lv.max,
            *lv.hops.cells(),
        )
    if any(lv.sent <= NEAREST_RANK_MAX_N for lv in levels):
        report.notes.append(
            f"a level of {NEAREST_RANK_MAX_N} records or fewer has its slowest record as p99 "
            "(nearest rank): one stalled record decides it; --set seconds=60 gives levels of "
            "60-240 records at rate=4"
        )
    for load, target in TARGETS_P99_S.items():
        level = next(lv for lv in levels if lv.load == load)
        report.target(
            f"p99 < {target:g} s at {100 * load:.0f}% load ({level.p99:.2f} s)",
            level.p99 < target,
        )
    report.notes.append(
        "latency = created_at (the sink transaction's start) - submitted_at (set when the "
        "envelope is built, just before produce); open loop: the producer follows its schedule "
        f"whatever the pipeline does; {config.seconds:g} s per level; hops: enrich = publish "
        "to enrich's output record (its Kafka timestamp), infer = to the result's produced_at "
        "(enrich's flush, infer's fetch, batch, model, scoring), sink = to created_at "
        "(infer's flush, the sink's fetch and batch)"
    )
    name = "latency-vs-load-tiny.png" if ctx.tiny else PLOT
    report.images.append(
        plot(
            levels,
            ctx.figures_dir / name,
            f"bug_report, {ctx.device.device}, max {peak_rate:.0f}/s",
        )
    )
    return report
