"""Failed-verify throttling and the verify concurrency cap (no server needed)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.api.middleware import KNOWN_METHODS, method_label
from inferstream.api.problems import ProblemError
from inferstream.api.throttle import AuthLimits, FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_prefix_over_its_budget_is_refused_until_the_window_slides() -> None:
    clock = Clock()
    throttle = FailureThrottle(AuthLimits(failures_per_prefix=3, window_s=60), clock)
    for i in range(3):
        throttle.check(f"10.0.0.{i}", "isk_live_aaaaaaaa")  # different addresses: no matter
        throttle.failed(f"10.0.0.{i}", "isk_live_aaaaaaaa")
        clock.now += 10
    with pytest.raises(ProblemError) as refused:
        throttle.check("10.9.9.9", "isk_live_aaaaaaaa")
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "30"  # the first failure leaves at 160
    throttle.check("10.9.9.9", "isk_live_bbbbbbbb")  # another prefix is not affected
    clock.now = 160.0
    throttle.check("10.9.9.9", "isk_live_aaaaaaaa")


def test_an_address_over_its_budget_is_refused_for_every_prefix() -> None:
    throttle = FailureThrottle(AuthLimits(failures_per_address=2), Clock())
    throttle.failed("10.0.0.1", "isk_live_aaaaaaaa")
    throttle.failed("10.0.0.1", "isk_live_bbbbbbbb")
    with pytest.raises(ProblemError):
        throttle.check("10.0.0.1", "isk_live_cccccccc")
    throttle.check("10.0.0.2", "isk_live_cccccccc")


def test_at_most_max_concurrent_verifies_run_and_the_rest_are_refused() -> None:
    throttle = FailureThrottle(AuthLimits(max_concurrent=2, slot_wait_s=0.05), Clock())
    inside, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with throttle.slot():
            inside.wait()
            release.wait(5)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    inside.wait(5)  # both slots are taken
    with pytest.raises(ProblemError) as busy, throttle.slot():
        pass
    assert busy.value.status == 503
    release.set()
    for thread in holders:
        thread.join(5)
    with throttle.slot():  # freed again
        pass


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1))
def test_the_metrics_method_label_takes_a_bounded_set_of_values(method: str) -> None:
    label = method_label(method)
    assert label in KNOWN_METHODS | {"OTHER"}
    assert (label == method) == (method in KNOWN_METHODS)
