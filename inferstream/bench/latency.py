"""Scenario 3: open-loop latency vs load. The producer sends on a fixed schedule (it never waits
for the pipeline) at 25/50/75/100% of the throughput measured first; latency is publish ->
row committed (created_at - submitted_at of each row)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from inferstream.bench import pipeline, workload
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import TABLE, TASK, BenchStack, bench_stack
from inferstream.bench.report import Report, percentile
from inferstream.client import Publisher

LOADS = (0.25, 0.50, 0.75, 1.00)
# p99 targets by offered load (issue targets of the data path): bigger batches must not buy
# throughput with latency.
TARGETS_P99_S = {0.50: 0.5, 0.75: 1.0}
TARGET_P99_S = 1.0  # the plot's reference line
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
        return cls(n_max=30, seconds=1.0)


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
    # The same split in two at the result's produced_at (stamped by infer when it encodes the
    # batch's results): publish -> enrich -> model done, then infer's flush -> sink -> row.
    to_result: tuple[float, float]  # p50, p99
    to_row: tuple[float, float]


def split_latencies(stack: BenchStack, ids: list[str]) -> tuple[list[float], list[float]]:
    """Seconds from publish to the result's produced_at, and from there to the row."""
    with psycopg.connect(stack.conninfo()) as conn:
        rows = conn.execute(
            f"SELECT extract(epoch FROM produced_at - submitted_at), "
            f"extract(epoch FROM created_at - produced_at) FROM {TABLE} "
            "WHERE submission_id = ANY(%s) AND submitted_at IS NOT NULL",
            (ids,),
        ).fetchall()
    return sorted(float(r[0]) for r in rows), sorted(float(r[1]) for r in rows)


def _p50_p99(values: list[float]) -> tuple[float, float]:
    return percentile(values, 0.50), percentile(values, 0.99)


def open_loop(
    stack: BenchStack, rate: float, seconds: float, timeout_s: float
) -> tuple[list[str], float]:
    """Send at ``rate`` texts/s for ``seconds`` on a fixed schedule; returns ids and send time."""
    n = max(1, round(rate * seconds))
    payloads = workload.payloads(n)
    ids = [str(uuid.uuid4()) for _ in payloads]
    interval = 1.0 / rate
    with Publisher(TASK, stack.kafka, source="bench-latency") as publisher:
        start = time.monotonic()
        for i, (sid, payload) in enumerate(zip(ids, payloads, strict=True)):
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the schedule, not a synchronisation
            publisher.publish(payload, submission_id=sid, wait=False)
        sent_in = time.monotonic() - start
    stack.wait_rows(ids, timeout_s)
    return ids, sent_in


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
        pipeline.warm_up(stack)
        peak_rate = config.rate or pipeline.saturate(stack, config.n_max).rate
        for load in LOADS:
            rate = peak_rate * load
            ids, sent_in = open_loop(stack, rate, config.seconds, timeout_s=600.0)
            lat = stack.latencies(ids)
            to_result, to_row = split_latencies(stack, ids)
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
                    _p50_p99(to_result),
                    _p50_p99(to_row),
                )
            )
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
            "to result p50 / p99 s",
            "result to row p50 / p99 s",
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
            " / ".join(f"{v:.2f}" for v in lv.to_result),
            " / ".join(f"{v:.2f}" for v in lv.to_row),
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
        f"whatever the pipeline does; {config.seconds:g} s per level; 'to result': "
        "submitted_at to the result's produced_at (enrich, infer's fetch, batch and model); "
        "'result to row': produced_at to created_at (infer's flush, the sink's fetch and batch)"
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
