"""Canary routing by key hash: stable, uniform, monotone in the fraction."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from inferstream.models.registry.routing import is_canary, key_share, split

KEYS = st.text(min_size=0, max_size=64)
FRACTIONS = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(KEYS)
def test_a_key_always_has_the_same_share_in_range(key: str) -> None:
    assert key_share(key) == key_share(str(key))
    assert 0.0 <= key_share(key) < 1.0


def test_shares_do_not_depend_on_the_process() -> None:
    # A pinned value: Python's salted hash() would differ per process (per worker, per run).
    assert f"{key_share('customer-42'):.12f}" == "0.202651685734"
    assert key_share("a") != key_share("b")


@given(KEYS, FRACTIONS, FRACTIONS)
def test_raising_the_fraction_only_adds_keys(key: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert not is_canary(key, low) or is_canary(key, high)


@given(st.lists(KEYS, max_size=50), FRACTIONS)
def test_split_partitions_the_batch_in_order(keys: list[str], fraction: float) -> None:
    main, canary = split(keys, fraction)
    assert sorted(main + canary) == list(range(len(keys)))
    assert main == sorted(main) and canary == sorted(canary)
    assert all(is_canary(keys[i], fraction) for i in canary)
    assert not any(is_canary(keys[i], fraction) for i in main)


def test_no_fraction_sends_everything_to_the_main_version() -> None:
    assert split(["a", "b"], None) == ([0, 1], [])
    assert split(["a", "b"], 0.0) == ([0, 1], [])


def test_ten_percent_of_uuid_keys_go_to_the_canary() -> None:
    keys = [str(uuid.UUID(int=i * 7919 + 13)) for i in range(20_000)]
    share = len(split(keys, 0.10)[1]) / len(keys)
    # Binomial(20,000, 0.1): standard deviation 0.21 %; 4 sigma either side.
    assert 0.0916 < share < 0.1084, share
