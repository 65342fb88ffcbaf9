"""Prometheus metrics shared by every stage (labels: stage, task)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

RECORDS = Counter(
    "inferstream_records_total",
    "Records handled by a stage, by outcome (emitted, rejected, poison).",
    ["stage", "task", "outcome"],
)
BATCH_SIZE = Histogram(
    "inferstream_batch_size", "Records per closed batch.", ["stage", "task"], buckets=SIZE_BUCKETS
)
BATCH_FILL = Histogram(
    "inferstream_batch_fill_ratio",
    "How full a batch was when it closed (max of items/max_items and cost/max_cost).",
    ["stage", "task"],
    buckets=(0.1, 0.25, 0.5, 0.75, 0.9, 1.0),
)
BATCH_CLOSE = Counter(
    "inferstream_batch_close_total",
    "Why batches closed: items, cost, wait, idle (nothing else queued, the stage free) or drain.",
    ["stage", "task", "reason"],
)
QUEUE_DELAY = Histogram(
    "inferstream_queue_delay_seconds",
    "Time from poll to the start of processing.",
    ["stage", "task"],
    buckets=LATENCY_BUCKETS,
)
BATCH_DURATION = Histogram(
    "inferstream_batch_duration_seconds",
    "Time to process one batch, outputs durable included.",
    ["stage", "task"],
    buckets=LATENCY_BUCKETS,
)
E2E_LATENCY = Histogram(
    "inferstream_e2e_latency_seconds",
    "Producer timestamp of the submission to its result being durable in this stage.",
    ["stage", "task"],
    buckets=LATENCY_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "inferstream_queue_depth", "Records polled and not yet processed.", ["stage", "task"]
)
PAUSED = Gauge(
    "inferstream_partitions_paused", "1 while input partitions are paused.", ["stage", "task"]
)
TRANSIENT = Counter(
    "inferstream_transient_errors_total",
    "Batches retried because a dependency failed.",
    ["stage", "task"],
)
DEAD_LETTERS = Counter(
    "inferstream_dead_letters_total",
    "Records sent to the dead-letter topic.",
    ["stage", "task", "kind"],
)
COMMITS = Counter("inferstream_commits_total", "Offset commits to Kafka.", ["stage", "task"])


def observe_many(histogram: Histogram, amounts: Iterable[tuple[float, int]]) -> None:
    """``histogram.observe(amount)`` ``count`` times for each (amount, count), with one sum
    and one bucket update per pair. The queue delay is observed for every record of a batch,
    and the records of one poll pass share their poll time, so a batch of 250 holds two or
    three distinct delays: one observe per record (a lock each on the sum and the bucket) cost
    1.4-1.7 us per record and stage, grouped 0.15-0.17. prometheus_client (0.26) has no
    observe with a count, so this updates the child's sum and buckets as its observe does;
    tests/unit/workers/runtime/test_runtime_metrics.py compares the exposition with plain
    observes. The sum adds amount * count, which may differ from count additions in its last
    bits."""
    histogram._raise_if_not_observable()  # type: ignore[no-untyped-call]  # a labelled child
    bounds: list[float] = histogram._upper_bounds
    buckets = histogram._buckets
    for amount, count in amounts:
        if count <= 0:
            continue
        histogram._sum.inc(amount * count)
        for bound, bucket in zip(bounds, buckets, strict=True):
            if amount <= bound:
                bucket.inc(count)
                break
