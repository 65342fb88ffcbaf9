"""CPU of the embedded stack with every bug_report worker up and no records flowing.

Usage: python benchmarks/idle_cpu.py [--window 60] [--rounds 2] [--data-dir DIR]

Starts a fresh embedded stack (`inferstream up` in DIR), then, per round and variant, starts the
stages (enrich, infer, sink, archive; null model), sends one warm-up batch through them, waits
SETTLE_S, and reads every process's CPU seconds from /proc over ``--window`` seconds: the idle
cost that each record pays a share of at low rates. Variants (alternated within each round,
same stack, same tree):
- servers: no workers at all (the servers' own background);
- before: background consumers at the latency-critical fetch wait (100 ms), heartbeats 500 ms;
- after: background consumers at the stack's 1000 ms, heartbeats 500 ms;
- heartbeat, hb1000: the stack's fetch waits, heartbeats every 2000 / 1000 ms (2000: what
  `inferstream up` writes).
Prints one table per variant: cores (CPU seconds per wall second) per process, and their total.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping
from pathlib import Path

from inferstream.bench import pipeline, procs
from inferstream.bench.harness import BenchStack, bench_stack
from inferstream.bench.overhead_run import NULL_ENV

REPLICAS = {"enrich": 1, "infer": 1, "sink": 1, "archive": 1}
SETTLE_S = 10.0
HEARTBEAT = "INFERSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS"
VARIANTS: dict[str, dict[str, str] | None] = {
    "servers": None,
    "before": {"INFERSTREAM_KAFKA_BACKGROUND_FETCH_WAIT_MAX_MS": "100", HEARTBEAT: "500"},
    "after": {HEARTBEAT: "500"},
    "heartbeat": {HEARTBEAT: "2000"},
    "hb1000": {HEARTBEAT: "1000"},
}


def _reading(stack: BenchStack) -> dict[str, float]:
    return {**procs.cpu_seconds(stack.supervisors), **procs.server_cpu_seconds(stack.data_dir)}


def idle_cores(
    stack: BenchStack, env: Mapping[str, str] | None, window_s: float
) -> dict[str, float]:
    """Cores per process over ``window_s`` with the workers of ``env`` up (None: no workers)."""
    if env is not None:
        stack.start_workers(REPLICAS, {**NULL_ENV, **env})
        pipeline.warm_up(stack, timeout_s=180.0)
    try:
        time.sleep(SETTLE_S)  # group joins and the warm-up's trailing commits settle
        before, started = _reading(stack), time.monotonic()
        time.sleep(window_s)  # the measured window itself
        after, elapsed = _reading(stack), time.monotonic() - started
        stack.check_workers()
    finally:
        stack.stop_workers()
    return {name: cpu / elapsed for name, cpu in procs.delta(after, before).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    chosen = args.variants.split(",")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    with bench_stack(args.data_dir) as stack:
        for round_no in range(args.rounds):
            for name in chosen:
                cores = idle_cores(stack, VARIANTS[name], args.window)
                runs[name].append(cores)
                print(
                    f"round {round_no + 1} {name}: total {sum(cores.values()):.3f} cores",
                    flush=True,
                )
    for name, readings in runs.items():
        print(f"\n{name} (median of {len(readings)} windows of {args.window:.0f} s), cores:")
        names = sorted({key for reading in readings for key in reading})
        for proc in names:
            _row(proc, [reading.get(proc, 0.0) for reading in readings])
        _row("total", [sum(reading.values()) for reading in readings])


def _row(label: str, values: list[float]) -> None:
    each = ", ".join(f"{v:.4f}" for v in values)
    print(f"  {label:24s} {statistics.median(values):.4f}  ({each})")


if __name__ == "__main__":
    main()
