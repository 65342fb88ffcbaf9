"""`bench latency` options and targets: a given 100 % rate, and the two p99 targets."""

from __future__ import annotations

import pytest

from inferstream.bench.latency import LOADS, TARGETS_P99_S
from inferstream.bench.scenarios import ScenarioError, config


def test_a_given_rate_replaces_the_measured_maximum() -> None:
    assert config("latency", False, {"rate": "12.5"}).rate == 12.5
    assert config("latency", False, {}).rate == 0.0  # measured first


def test_a_negative_rate_is_a_one_line_error() -> None:
    with pytest.raises(ScenarioError, match="--set rate"):
        config("latency", False, {"rate": "-1"})


def test_the_targets_are_read_at_offered_loads() -> None:
    assert TARGETS_P99_S == {0.50: 0.5, 0.75: 1.0}
    assert set(TARGETS_P99_S) <= set(LOADS)
