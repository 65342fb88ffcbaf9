"""metrics.observe_many: the same histogram as one observe per amount. It writes the child's
sum and buckets itself (prometheus_client has no observe with a count), so a change of the
library's internals fails here, not silently in a dashboard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from inferstream.workers.runtime import metrics


def _histogram() -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    histogram = Histogram(
        "delay_seconds", "d", ["stage"], buckets=metrics.LATENCY_BUCKETS, registry=registry
    )
    return registry, histogram


def _exposition(registry: CollectorRegistry) -> list[str]:
    # The _created sample is the child's creation time: not what is compared.
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


# Dyadic amounts (multiples of 1/1024) sum exactly in either order, so the sums compare equal;
# they fall in every bucket, on bounds and past the last one.
_amounts = st.lists(
    st.tuples(st.integers(0, 100 * 1024).map(lambda n: n / 1024), st.integers(0, 300)),
    max_size=12,
)


@given(_amounts)
def test_observe_many_equals_one_observe_per_amount(pairs: list[tuple[float, int]]) -> None:
    many_registry, many = _histogram()
    each_registry, each = _histogram()
    metrics.observe_many(many.labels(stage="enrich"), pairs)
    child = each.labels(stage="enrich")
    for amount, count in pairs:
        for _ in range(count):
            child.observe(amount)
    assert _exposition(many_registry) == _exposition(each_registry)


def test_observe_many_counts_on_a_bound_and_past_the_last() -> None:
    registry, histogram = _histogram()
    metrics.observe_many(histogram.labels(stage="sink"), [(0.005, 3), (61.0, 2), (0.3, 0)])
    samples = {
        (sample.name, sample.labels.get("le")): sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith(("_bucket", "_count", "_sum"))
    }
    assert samples[("delay_seconds_bucket", "0.005")] == 3  # a bound is its own bucket's
    assert samples[("delay_seconds_bucket", "60.0")] == 3
    assert samples[("delay_seconds_bucket", "+Inf")] == 5
    assert samples[("delay_seconds_count", None)] == 5
    assert samples[("delay_seconds_sum", None)] == pytest.approx(0.015 + 122.0)
