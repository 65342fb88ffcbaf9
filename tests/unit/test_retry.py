"""Exponential backoff: each delay lies in [ceiling/2, ceiling], the ceiling doubles up to max."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from inferstream.retry import Backoff


def _ceiling(initial: float, cap: float, attempt: int) -> float:
    return min(cap, initial * float(2**attempt))


def test_delays_double_until_the_cap() -> None:
    rng = random.Random(1234)
    backoff = Backoff(initial_s=0.1, max_s=2.0)
    delays = [backoff.next_delay(rng) for _ in range(10)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0, 2.0, 2.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.attempts == 10
    # Later delays are never below the earliest ceilings once the cap is reached.
    assert min(delays[5:]) >= 1.0
    assert max(delays) <= 2.0


def test_delays_are_the_seeded_uniform_draws() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0)
    got = [backoff.next_delay(random.Random(7)) for _ in range(5)]
    expected = [random.Random(7).uniform(c / 2, c) for c in (0.5, 1.0, 2.0, 4.0, 4.0)]
    assert got == expected


def test_same_seed_same_delays() -> None:
    first = Backoff(0.05, 30.0)
    second = Backoff(0.05, 30.0)
    rng1, rng2 = random.Random(99), random.Random(99)
    assert [first.next_delay(rng1) for _ in range(8)] == [second.next_delay(rng2) for _ in range(8)]


def test_jitter_spreads_delays() -> None:
    rng = random.Random(3)
    delays = {Backoff(1.0, 10.0).next_delay(rng) for _ in range(20)}
    assert len(delays) > 1
    assert all(0.5 <= d <= 1.0 for d in delays)


def test_reset_starts_over() -> None:
    rng = random.Random(5)
    backoff = Backoff(initial_s=0.25, max_s=8.0)
    for _ in range(6):
        backoff.next_delay(rng)
    assert backoff.attempts == 6
    backoff.reset()
    assert backoff.attempts == 0
    assert 0.125 <= backoff.next_delay(rng) <= 0.25
    assert backoff.attempts == 1


def test_many_attempts_stay_capped_without_overflow() -> None:
    backoff = Backoff(initial_s=0.1, max_s=60.0, attempts=10_000)
    delay = backoff.next_delay(random.Random(0))
    assert 30.0 <= delay <= 60.0


def test_initial_above_max_is_capped() -> None:
    backoff = Backoff(initial_s=10.0, max_s=1.0)
    assert 0.5 <= backoff.next_delay(random.Random(0)) <= 1.0


def test_without_rng_uses_module_random_within_bounds() -> None:
    backoff = Backoff(initial_s=0.2, max_s=1.0)
    assert 0.1 <= backoff.next_delay() <= 0.2
    assert 0.2 <= backoff.next_delay() <= 0.4


@given(
    st.floats(0.001, 5.0),
    st.floats(0.001, 120.0),
    st.integers(1, 60),
    st.integers(0, 2**32 - 1),
)
def test_every_delay_within_half_ceiling_and_ceiling(
    initial: float, cap: float, n: int, seed: int
) -> None:
    rng = random.Random(seed)
    backoff = Backoff(initial_s=initial, max_s=cap)
    previous_ceiling = 0.0
    for attempt in range(n):
        ceiling = _ceiling(initial, cap, attempt)
        assert ceiling >= previous_ceiling
        delay = backoff.next_delay(rng)
        assert ceiling / 2 <= delay <= ceiling
        assert delay <= cap
        previous_ceiling = ceiling
