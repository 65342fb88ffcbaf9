"""Poison isolation by bisection: only the poison records are rejected, the rest succeed."""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.isolation import process_isolating
from inferstream.workers.runtime.records import (
    Emit,
    Outcome,
    OutMessage,
    PoisonBatchError,
    Reject,
    TransientError,
)


def _emit(item: int) -> Emit:
    return Emit((OutMessage("out", None, str(item).encode()),))


class _Step:
    """Fails the whole part with PoisonBatchError when it contains a poison item."""

    def __init__(self, poison: set[int]) -> None:
        self.poison = poison
        self.parts: list[list[int]] = []

    def __call__(self, part: Sequence[int]) -> list[Outcome]:
        self.parts.append(list(part))
        bad = [item for item in part if item in self.poison]
        if bad:
            raise PoisonBatchError("batch failed") from ValueError(f"cannot decode item {bad[0]}")
        return [_emit(item) for item in part]


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[int], set[int]]:
    n = draw(st.integers(1, 64))
    poison = draw(st.sets(st.integers(0, n - 1), max_size=n))
    return list(range(n)), poison


@given(batches())
def test_each_poison_item_is_rejected_and_every_other_emitted_in_order(
    case: tuple[list[int], set[int]],
) -> None:
    items, poison = case
    step = _Step(poison)
    outcomes, calls = process_isolating(items, step)
    assert len(outcomes) == len(items)
    for item, outcome in zip(items, outcomes, strict=True):
        if item in poison:
            assert isinstance(outcome, Reject)
            assert outcome.kind == "poison"
            assert outcome.reason == f"poison record: ValueError: cannot decode item {item}"
        else:
            assert outcome == _emit(item)
    assert calls == len(step.parts)


@given(batches())
def test_number_of_calls_is_logarithmic_per_poison_item(
    case: tuple[list[int], set[int]],
) -> None:
    items, poison = case
    step = _Step(poison)
    _, calls = process_isolating(items, step)
    n, p = len(items), len(poison)
    if p == 0:
        assert calls == 1
    else:
        assert calls <= 2 * p * math.ceil(math.log2(n) + 1) + 1
    # Bisection never hands the step an empty part, and every call sees contiguous items.
    for part in step.parts:
        assert part
        assert part == list(range(part[0], part[0] + len(part)))


def test_single_poison_in_eight_takes_seven_calls() -> None:
    step = _Step({5})
    outcomes, calls = process_isolating(list(range(8)), step)
    # 8 -> (4 ok) + (4 fail) -> (2 ok) + (2 fail) -> (1 ok) + (1 poison)
    assert calls == 7
    assert step.parts == [
        [0, 1, 2, 3, 4, 5, 6, 7],
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [4, 5],
        [4],
        [5],
        [6, 7],
    ]  # depth first, left half before right half: outputs keep their order
    assert [type(o).__name__ for o in outcomes] == ["Emit"] * 5 + ["Reject"] + ["Emit"] * 2


def test_empty_batch_makes_no_call() -> None:
    step = _Step(set())
    assert process_isolating([], step) == ([], 0)
    assert step.parts == []


def test_outcomes_of_a_healthy_batch_pass_through_unchanged() -> None:
    expected: list[Outcome] = [_emit(0), Reject("bad field", kind="rejected"), _emit(2)]
    outcomes, calls = process_isolating([0, 1, 2], lambda part: list(expected))
    assert outcomes == expected
    assert calls == 1


def test_poison_without_cause_describes_the_error_itself() -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        raise PoisonBatchError("model blew up")

    outcomes, calls = process_isolating([1], step)
    assert outcomes == [Reject("poison record: PoisonBatchError: model blew up", kind="poison")]
    assert calls == 1


def test_custom_describe_and_reason_truncated_to_1000_chars() -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        raise PoisonBatchError("x" * 5000)

    outcomes, _ = process_isolating([1], step, describe=lambda err: str(err))
    (reject,) = outcomes
    assert isinstance(reject, Reject)
    assert len(reject.reason) == 1000
    assert reject.reason.startswith("poison record: xxx")


def test_transient_error_propagates_unchanged() -> None:
    err = TransientError("db down")

    def step(part: Sequence[int]) -> list[Outcome]:
        raise err

    with pytest.raises(TransientError) as info:
        process_isolating([1, 2, 3], step)
    assert info.value is err


def test_transient_error_during_bisection_propagates() -> None:
    calls: list[int] = []

    def step(part: Sequence[int]) -> list[Outcome]:
        calls.append(len(part))
        if len(part) == 4:
            raise PoisonBatchError("something in here")
        raise TransientError("db went away mid-bisection")

    with pytest.raises(TransientError, match="mid-bisection"):
        process_isolating([1, 2, 3, 4], step)
    assert calls == [4, 2]


def test_other_exceptions_are_bugs_and_propagate() -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        raise KeyError("oops")

    with pytest.raises(KeyError, match="oops"):
        process_isolating([1, 2], step)


@pytest.mark.parametrize("returned", [0, 2, 4])
def test_wrong_number_of_outcomes_raises(returned: int) -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        return [_emit(0)] * returned

    with pytest.raises(RuntimeError, match=f"stage returned {returned} outcomes for 3 records"):
        process_isolating([1, 2, 3], step)


def test_wrong_number_of_outcomes_in_a_half_raises() -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        if len(part) == 4:
            raise PoisonBatchError("bisect")
        return [_emit(0)]

    with pytest.raises(RuntimeError, match="stage returned 1 outcomes for 2 records"):
        process_isolating([1, 2, 3, 4], step)


def test_the_poison_reject_carries_the_model_version_that_failed() -> None:
    def step(part: Sequence[int]) -> list[Outcome]:
        if 3 in part:
            raise PoisonBatchError("model failed", model=("churn-logreg", "v2"))
        return [_emit(item) for item in part]

    outcomes, _ = process_isolating([1, 2, 3, 4], step)
    rejects = [o for o in outcomes if isinstance(o, Reject)]
    assert [r.model for r in rejects] == [("churn-logreg", "v2")]
    assert all(isinstance(o, Emit) for i, o in enumerate(outcomes) if i != 2)


@pytest.mark.parametrize("poison", [set(), {2, 5}])
def test_the_step_and_its_batch_are_freed_without_the_cyclic_collector(poison: set[int]) -> None:
    """The runtime's step closes over a batch's records and what its prepare step made:
    after the call nothing of it may wait for the cyclic collector (a closure that calls
    itself is a cycle; it held every batch until a collection walked and freed it)."""
    step = _Step(poison)
    freed = weakref.ref(step)
    gc.collect()
    gc.disable()
    try:
        outcomes, _ = process_isolating(list(range(8)), step)
        del step
        assert freed() is None
    finally:
        gc.enable()
    assert len(outcomes) == 8
