"""PSI and binned distributions: properties (hypothesis) and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.monitor.psi import (
    LATENCY_EDGES_MS,
    Distribution,
    bin_of,
    dense,
    fit,
    latency_bucket,
    psi,
    quantile_upper_edge,
    share_within,
)

shares = st.lists(st.integers(1, 1000), min_size=2, max_size=12)


@given(shares)
def test_psi_of_the_reference_itself_is_zero(weights: list[int]) -> None:
    total = sum(weights)
    assert psi([w / total for w in weights], weights) == pytest.approx(0.0, abs=1e-12)


@given(shares, shares)
def test_psi_is_never_negative(ref: list[int], live: list[int]) -> None:
    size = min(len(ref), len(live))
    ref, live = ref[:size], live[:size]
    assert psi([r / sum(ref) for r in ref], live) >= -1e-12


def test_psi_known_value_and_empty_counts() -> None:
    # (0.7-0.5) ln(0.7/0.5) + (0.3-0.5) ln(0.3/0.5)
    expected = 0.2 * math.log(1.4) - 0.2 * math.log(0.6)
    assert psi([0.5, 0.5], [70, 30]) == pytest.approx(expected)
    assert psi([0.5, 0.5], [0, 0]) == 0.0
    with pytest.raises(ValueError, match="2 bins counted"):
        psi([0.2, 0.3, 0.5], [1, 1])


@settings(max_examples=50)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=400), st.integers(2, 20))
def test_fit_shares_sum_to_one_and_match_bin_of(values: list[float], bins: int) -> None:
    dist = fit(values, bins)
    assert sum(dist.fractions) == pytest.approx(1.0)
    assert list(dist.edges) == sorted(set(dist.edges))
    counts = dense({}, len(dist.fractions))
    for v in values:
        counts[bin_of(dist.edges, v)] += 1
    assert psi(dist.fractions, counts) == pytest.approx(0.0, abs=1e-9)
    assert Distribution.from_json(dist.to_json()) == dist


def test_fit_equal_frequency_and_shift_is_detected() -> None:
    rng = np.random.default_rng(0)
    ref = fit(rng.normal(0, 1, 20_000))
    assert len(ref.fractions) == 10 and max(ref.fractions) < 0.11
    same = dense({}, 10)
    shifted = dense({}, 10)
    for a, b in zip(rng.normal(0, 1, 2000), rng.normal(1, 1, 2000), strict=True):
        same[bin_of(ref.edges, a)] += 1
        shifted[bin_of(ref.edges, b)] += 1
    assert psi(ref.fractions, same) < 0.02  # sampling noise of 2,000 values in 10 bins
    assert psi(ref.fractions, shifted) > 0.5


def test_latency_buckets_decide_the_slo_exactly() -> None:
    assert latency_bucket(200) == LATENCY_EDGES_MS.index(200)
    assert latency_bucket(200.001) == LATENCY_EDGES_MS.index(300)
    assert latency_bucket(10**9) == len(LATENCY_EDGES_MS)
    within = {latency_bucket(100): 95, latency_bucket(250): 5}
    assert share_within(within.items(), LATENCY_EDGES_MS, 200) == pytest.approx(0.95)
    over = {latency_bucket(100): 94, latency_bucket(250): 6}
    assert share_within(over.items(), LATENCY_EDGES_MS, 200) < 0.95
    assert quantile_upper_edge(over, LATENCY_EDGES_MS, 0.95) == 300
    assert quantile_upper_edge({len(LATENCY_EDGES_MS): 1}, LATENCY_EDGES_MS, 0.95) == math.inf
