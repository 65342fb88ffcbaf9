"""The sliding-window rate limiter."""

from __future__ import annotations

import pytest

from inferstream.api.ratelimit import OpClass, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_key_and_class_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter({OpClass.read: 3, OpClass.write: 1}, window_s=100, clock=clock)
    for remaining in (2, 1, 0):
        decision = limiter.hit("a", OpClass.read)
        assert decision.allowed and decision.remaining == remaining
        clock.now += 10
    refused = limiter.hit("a", OpClass.read)
    assert not refused.allowed and refused.retry_after_s == 70  # first hit at 0 leaves at 100
    assert limiter.hit("b", OpClass.read).allowed
    assert limiter.hit("a", OpClass.write).allowed
    assert not limiter.hit("a", OpClass.write).allowed
    clock.now = 100.0  # the first hit has left the window: exactly one slot frees up
    assert limiter.hit("a", OpClass.read).allowed
    assert not limiter.hit("a", OpClass.read).allowed


def test_refused_requests_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter({OpClass.read: 1, OpClass.write: 1}, window_s=10, clock=clock)
    assert limiter.hit("k", OpClass.read).allowed
    for _ in range(50):
        assert not limiter.hit("k", OpClass.read).allowed
    clock.now = 10.0
    assert limiter.hit("k", OpClass.read).allowed


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="limits"):
        RateLimiter({OpClass.read: 0, OpClass.write: 1})
