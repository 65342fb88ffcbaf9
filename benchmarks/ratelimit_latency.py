"""Latency the shared (Postgres) rate limiter adds to an API request, against no limiter.

    INFERSTREAM_DATA_DIR=/tmp/x inferstream up
    INFERSTREAM_DATA_DIR=/tmp/x python benchmarks/ratelimit_latency.py [--requests 300] [--rounds 5]

One process serves the real app (``create_app``, TestClient: no network hop) on the running
stack's Postgres and sends authenticated ``GET /v1/results/bug_report?limit=10`` requests (a reader
key; the key cache outlives the run, so argon2 is paid once, before timing). Four limiters, in
interleaved rounds so the machine's load hits each alike: ``none`` (admits everything: the
baseline), ``in-process`` (``RateLimiter``), ``shared`` (``SharedRateLimiter``, what the API
runs: one transaction with an advisory lock, a DELETE, a count and an INSERT per request, with
``synchronous_commit`` off) and ``shared-durable`` (the same, waiting for the WAL flush).
Prints per-request wall p50/p99 and client-process CPU per variant, and the ratios to ``none``.
Postgres's own CPU is not in the process CPU; wall time includes it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import psycopg
from fastapi.testclient import TestClient

from inferstream.api import Role
from inferstream.api.app import RATE_WINDOW_S, create_app
from inferstream.api.keys import create_key
from inferstream.api.ratelimit import Decision, OpClass, RateLimiter
from inferstream.api.shared_limits import SharedRateLimiter
from inferstream.settings import ApiSettings, PostgresSettings
from inferstream.storage import make_pool

PATH = "/v1/results/bug_report?limit=10"
BIG = 10**9  # no request is ever refused: only the cost of deciding is measured


class NoLimiter:
    def hit(self, key: str, op: OpClass) -> Decision:
        return Decision(True, BIG, BIG, 0, 0)


def _round(client: TestClient, headers: dict[str, str], n: int) -> tuple[list[float], float]:
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(PATH, headers=headers)
        walls.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return walls, time.process_time() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    postgres = PostgresSettings.load()
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        prefix = ApiSettings.load().api_key_prefix
        key = create_key(
            conn, prefix=prefix, name="bench-ratelimit", role=Role.reader, ttl_days=1
        ).key
    pool = make_pool(postgres, name="bench-ratelimit")
    limits = {OpClass.read: BIG, OpClass.write: BIG}
    variants = {
        "none": NoLimiter(),
        "in-process": RateLimiter(limits, RATE_WINDOW_S),
        "shared": SharedRateLimiter(pool, limits, RATE_WINDOW_S),
        # the same with a durable (WAL-flushed) commit per decision: what skipping it saves
        "shared-durable": SharedRateLimiter(pool, limits, RATE_WINDOW_S, durable_commit=True),
    }
    app = create_app(ApiSettings.load(), postgres, pool=pool, key_cache_ttl_s=1e9)
    headers = {"Authorization": f"Bearer {key}"}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, float] = dict.fromkeys(variants, 0.0)
    with TestClient(app) as client:
        base = app.state.ctx
        _round(client, headers, 20)  # warm: verify the key once, fill the pool
        names = list(variants)
        for index in range(args.rounds):
            # Each round starts with another variant: no variant always runs first or last.
            for name in names[index % len(names) :] + names[: index % len(names)]:
                limiter = variants[name]
                app.state.ctx = replace(base, limiter=limiter)
                times, seconds = _round(client, headers, args.requests)
                walls[name] += times
                cpu[name] += seconds
    decisions: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):  # interleaved as well
        for name, limiter in variants.items():
            decisions[name] += _decisions(limiter, args.requests // args.rounds + 1)
    pool.close()
    _report(walls, cpu, args)
    print("\none decision alone (limiter.hit, no request around it), p50 / p99 us:")
    for name, times in decisions.items():
        p50, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
        print(f"  {name}: {p50 * 1e6:.0f} / {p99 * 1e6:.0f}")


def _decisions(limiter: NoLimiter | RateLimiter | SharedRateLimiter, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        limiter.hit("bench-direct", OpClass.read)
        times.append(time.perf_counter() - start)
    return times


def _report(walls: dict[str, list[float]], cpu: dict[str, float], args: argparse.Namespace) -> None:
    n = args.requests * args.rounds
    base_p50 = statistics.median(walls["none"])
    print(f"{n} requests per variant, {args.rounds} interleaved rounds, GET {PATH}")
    print("| limiter | p50 ms | p99 ms | CPU ms/request | p50 vs none |")
    print("|---|---|---|---|---|")
    for name, times in walls.items():
        p50 = statistics.median(times)
        p99 = statistics.quantiles(times, n=100)[98]
        print(
            f"| {name} | {p50 * 1e3:.2f} | {p99 * 1e3:.2f} | {cpu[name] / n * 1e3:.2f} "
            f"| {p50 / base_p50:.2f}x |"
        )


if __name__ == "__main__":
    main()
