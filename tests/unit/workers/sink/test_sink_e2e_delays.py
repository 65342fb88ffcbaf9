"""The sink's end-to-end delays observed per bucket (observe_delays): the same histogram as one
observe per result, but for the sum's last bits."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from inferstream.workers.runtime import metrics
from inferstream.workers.sink.driver import observe_delays


def _samples(delays: list[float], grouped: bool) -> dict[tuple[str, str | None], float]:
    registry = CollectorRegistry()
    histogram = Histogram(
        "e2e_seconds", "d", ["stage"], buckets=metrics.LATENCY_BUCKETS, registry=registry
    )
    child = histogram.labels(stage="sink")
    if grouped:
        observe_delays(child, delays)
    else:
        for delay in delays:
            child.observe(max(0.0, delay))
    return {
        (sample.name, sample.labels.get("le")): sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith(("_bucket", "_count", "_sum"))
    }


# Delays anywhere, on the bounds and just beside them, negative (a clock behind) and past the
# last bound; many alike, so a bucket's mean may round onto its bounds.
_near_bounds = st.sampled_from(metrics.LATENCY_BUCKETS).flatmap(
    lambda b: st.sampled_from([b, math.nextafter(b, 0), math.nextafter(b, math.inf)])
)
_delays = st.lists(
    st.one_of(st.floats(-5, 100, allow_nan=False), _near_bounds), max_size=200
).flatmap(lambda xs: st.just(xs) | st.just(xs * 7))


@given(_delays)
def test_grouped_delays_fill_the_buckets_one_observe_per_delay_fills(delays: list[float]) -> None:
    grouped, each = _samples(delays, True), _samples(delays, False)
    assert grouped.keys() == each.keys()
    for key, value in each.items():
        if key[0].endswith("_sum"):
            assert math.isclose(grouped[key], value, rel_tol=1e-9, abs_tol=1e-9)
        else:
            assert grouped[key] == value, key


def test_a_bound_counts_in_its_own_bucket_and_a_negative_delay_as_zero() -> None:
    samples = _samples([0.005] * 3 + [math.nextafter(0.005, 1)] + [-1.0, 61.0], True)
    assert samples[("e2e_seconds_bucket", "0.005")] == 4  # three on the bound, one at 0
    assert samples[("e2e_seconds_bucket", "0.01")] == 5
    assert samples[("e2e_seconds_bucket", "60.0")] == 5
    assert samples[("e2e_seconds_bucket", "+Inf")] == 6
    assert samples[("e2e_seconds_count", None)] == 6
