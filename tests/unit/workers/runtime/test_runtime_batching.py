"""Micro-batching: items leave exactly once, in order, in batches that respect the policy."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.batching import Batch, Batcher, BatchPolicy, split_by_cost


@dataclass(frozen=True)
class _Add:
    cost: int
    dt: float


@dataclass(frozen=True)
class _Poll:
    dt: float


policies = st.builds(
    BatchPolicy,
    max_items=st.integers(1, 6),
    max_cost=st.integers(1, 30),
    max_wait_s=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
)
deltas = st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.5, 1.0, 3.0])
ops = st.lists(
    st.one_of(
        st.builds(_Add, cost=st.integers(0, 40), dt=deltas),
        st.builds(_Poll, dt=deltas),
    ),
    max_size=60,
)


@dataclass
class _Closed:
    batch: Batch[int]
    by: str  # "add", "poll" or "drain"
    at: float
    trigger_cost: int | None = None  # cost of the item whose add closed it


def _run(policy: BatchPolicy, script: list[_Add | _Poll]) -> tuple[list[int], list[_Closed]]:
    """Feed the script; check per-step invariants; return the input and every closed batch."""
    batcher: Batcher[int] = Batcher(policy)
    fed: list[int] = []
    closed: list[_Closed] = []
    open_items: list[int] = []
    open_since: float | None = None
    now = 0.0
    for op in script:
        now += op.dt
        if isinstance(op, _Add):
            item = len(fed)
            fed.append(item)
            out = batcher.add(item, op.cost, now)
            if out is not None:
                closed.append(_Closed(out, "add", now, op.cost))
                assert out.reason in ("items", "cost")
                if out.items and out.items[-1] == item:
                    open_items, open_since = [], None
                else:
                    # The open batch closed before the item was added; it opened the next one.
                    assert out.items == open_items
                    open_items, open_since = [item], now
            else:
                if not open_items:
                    open_since = now
                open_items.append(item)
        else:
            out = batcher.poll(now)
            if out is not None:
                assert out.items == open_items
                full = len(out.items) >= policy.max_items or out.cost >= policy.max_cost
                # A full batch (an item that did not fit the previous one can fill the next on
                # its own) closes at once by its limit; otherwise only its max wait closes it.
                assert out.reason == (
                    ("items" if len(out.items) >= policy.max_items else "cost") if full else "wait"
                )
                closed.append(_Closed(out, "poll", now))
                open_items, open_since = [], None
            else:
                # Not closed by poll: nothing open, or its max wait has not passed yet.
                assert open_since is None or now < open_since + policy.max_wait_s
        assert batcher.pending == len(open_items)
        expected_deadline = None if open_since is None else open_since + policy.max_wait_s
        assert batcher.deadline() == expected_deadline
    out = batcher.drain()
    if open_items:
        assert out is not None
        assert out.reason == "drain"
        assert out.items == open_items
        closed.append(_Closed(out, "drain", now))
    else:
        assert out is None
    assert batcher.drain() is None
    assert batcher.pending == 0
    assert batcher.deadline() is None
    return fed, closed


@given(policies, ops)
def test_every_item_comes_out_exactly_once_in_arrival_order(
    policy: BatchPolicy, script: list[_Add | _Poll]
) -> None:
    fed, closed = _run(policy, script)
    out = [item for c in closed for item in c.batch.items]
    assert out == fed
    assert all(c.batch.items for c in closed), "no empty batch is ever closed"


@given(policies, ops)
def test_closed_batches_respect_the_limits(policy: BatchPolicy, script: list[_Add | _Poll]) -> None:
    costs = {i: op.cost for i, op in enumerate(o for o in script if isinstance(o, _Add))}
    _, closed = _run(policy, script)
    for c in closed:
        batch = c.batch
        assert batch.cost == sum(costs[i] for i in batch.items)
        assert len(batch.items) <= policy.max_items
        assert batch.cost <= policy.max_cost or len(batch.items) == 1
        assert batch.fill_ratio(policy) > 0
        assert (batch.fill_ratio(policy) <= 1.0) or len(batch.items) == 1


@given(policies, ops)
def test_close_reasons_are_correct(policy: BatchPolicy, script: list[_Add | _Poll]) -> None:
    times: dict[int, float] = {}
    now = 0.0
    n = 0
    for op in script:
        now += op.dt
        if isinstance(op, _Add):
            times[n] = now
            n += 1
    _, closed = _run(policy, script)
    for c in closed:
        batch = c.batch
        assert batch.opened_at == times[batch.items[0]]
        if batch.reason == "items":
            assert c.by in ("add", "poll")
            assert len(batch.items) == policy.max_items
        elif batch.reason == "cost" and c.by == "poll":
            assert batch.cost >= policy.max_cost
        elif batch.reason == "cost":
            assert c.by == "add"
            assert c.trigger_cost is not None
            # Either the batch reached max_cost, or the next item would have pushed it over.
            assert batch.cost >= policy.max_cost or batch.cost + c.trigger_cost > policy.max_cost
        elif batch.reason == "wait":
            assert c.by == "poll"
            assert c.at >= batch.opened_at + policy.max_wait_s
        else:
            assert batch.reason == "drain"
            assert c.by == "drain"


@given(policies, st.lists(st.integers(0, 40), min_size=1, max_size=40))
def test_back_to_back_adds_fill_batches_greedily(policy: BatchPolicy, costs: list[int]) -> None:
    """Without polls, a batch is only closed when the next item would not fit (or at drain)."""
    batcher: Batcher[int] = Batcher(policy)
    batches: list[Batch[int]] = []
    for i, cost in enumerate(costs):
        out = batcher.add(i, cost, 0.0)
        if out is not None:
            batches.append(out)
    last = batcher.drain()
    if last is not None:
        batches.append(last)
    assert [i for b in batches for i in b.items] == list(range(len(costs)))
    for batch in batches:
        assert batch.reason != "wait"
        end = batch.items[-1]
        if batch.reason == "drain":
            assert end == len(costs) - 1
            continue
        full = len(batch.items) >= policy.max_items or batch.cost >= policy.max_cost
        next_does_not_fit = end + 1 < len(costs) and (
            len(batch.items) + 1 > policy.max_items or batch.cost + costs[end + 1] > policy.max_cost
        )
        assert full or next_does_not_fit


def test_closes_on_max_items() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=3, max_cost=100, max_wait_s=10))
    assert batcher.add("a", 1, 0.0) is None
    assert batcher.add("b", 1, 0.1) is None
    closed = batcher.add("c", 1, 0.2)
    assert closed is not None
    assert (closed.items, closed.reason, closed.cost, closed.opened_at) == (
        ["a", "b", "c"],
        "items",
        3,
        0.0,
    )
    assert batcher.pending == 0
    assert batcher.deadline() is None


def test_closes_on_max_cost_reached_exactly() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=10, max_wait_s=10))
    assert batcher.add("a", 4, 0.0) is None
    closed = batcher.add("b", 6, 0.0)
    assert closed is not None
    assert (closed.items, closed.reason, closed.cost) == (["a", "b"], "cost", 10)


def test_item_that_does_not_fit_closes_the_open_batch_and_opens_the_next() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=10, max_wait_s=1.0))
    assert batcher.add("a", 4, 0.0) is None
    assert batcher.fits(6)
    assert not batcher.fits(7)
    closed = batcher.add("b", 7, 0.5)
    assert closed is not None
    assert (closed.items, closed.reason, closed.cost) == (["a"], "cost", 4)
    assert batcher.pending == 1
    assert batcher.deadline() == 1.5  # the new batch opened when "b" arrived


def test_item_costlier_than_max_cost_travels_alone() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=10, max_wait_s=1.0))
    assert batcher.fits(50)
    closed = batcher.add("huge", 50, 0.0)
    assert closed is not None
    assert (closed.items, closed.reason, closed.cost) == (["huge"], "cost", 50)


def test_batch_that_reached_max_cost_is_not_held_until_max_wait() -> None:
    """An item that reaches max_cost on its own, arriving while a batch is open, closes that
    batch (returned by add) and opens a new one that is already at its cost limit. That batch
    must close by cost as soon as the caller asks (poll at the same instant), not sit until
    max_wait and then be reported as closed by "wait"."""
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=10, max_wait_s=5.0))
    assert batcher.add("small", 3, 0.0) is None
    first = batcher.add("huge", 10, 0.1)
    assert first is not None
    assert first.items == ["small"]
    second = batcher.poll(0.1)
    assert second is not None, "batch at max_cost left open until max_wait"
    assert (second.items, second.reason) == (["huge"], "cost")


def test_poll_closes_by_wait_only_at_or_after_the_deadline() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=100, max_wait_s=2.0))
    assert batcher.poll(100.0) is None  # nothing open
    assert batcher.deadline() is None
    batcher.add("a", 1, 10.0)
    batcher.add("b", 1, 11.5)  # a later item does not move the deadline
    assert batcher.deadline() == 12.0
    assert batcher.poll(11.999) is None
    assert batcher.pending == 2
    closed = batcher.poll(12.0)
    assert closed is not None
    assert (closed.items, closed.reason, closed.opened_at) == (["a", "b"], "wait", 10.0)
    assert batcher.poll(20.0) is None


def test_zero_max_wait_closes_on_the_first_poll() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=100, max_wait_s=0.0))
    batcher.add("a", 1, 3.0)
    assert batcher.deadline() == 3.0
    closed = batcher.poll(3.0)
    assert closed is not None
    assert closed.reason == "wait"


def test_drain_returns_the_open_batch_once() -> None:
    batcher: Batcher[str] = Batcher(BatchPolicy(max_items=10, max_cost=100, max_wait_s=2.0))
    assert batcher.drain() is None
    batcher.add("a", 1, 0.0)
    closed = batcher.drain()
    assert closed is not None
    assert (closed.items, closed.reason) == (["a"], "drain")
    assert batcher.drain() is None


@given(policies, st.lists(st.integers(0, 40), max_size=12))
def test_close_idle_returns_the_open_batch_as_it_is(policy: BatchPolicy, costs: list[int]) -> None:
    batcher: Batcher[int] = Batcher(policy)
    closed_by_add: list[int] = []
    for item, cost in enumerate(costs):
        out = batcher.add(item, cost, 0.0)
        if out is not None:
            closed_by_add += out.items
    open_items = costs and list(range(len(closed_by_add), len(costs)))
    out = batcher.close_idle()
    if open_items:
        assert out is not None
        assert (out.items, out.reason) == (open_items, "idle")
    else:
        assert out is None
    assert batcher.pending == 0
    assert batcher.deadline() is None
    assert batcher.close_idle() is None


def test_fill_ratio_is_the_fuller_of_items_and_cost() -> None:
    policy = BatchPolicy(max_items=4, max_cost=10, max_wait_s=1.0)
    assert Batch(items=["a"], cost=5).fill_ratio(policy) == 0.5
    assert Batch(items=["a", "b", "c"], cost=5).fill_ratio(policy) == 0.75
    assert Batch(items=["a"], cost=30).fill_ratio(policy) == 3.0


@pytest.mark.parametrize(
    ("max_items", "max_cost", "max_wait_s"),
    [(0, 1, 0.0), (1, 0, 0.0), (1, 1, -0.1), (-1, 5, 1.0)],
)
def test_policy_rejects_non_positive_limits(
    max_items: int, max_cost: int, max_wait_s: float
) -> None:
    with pytest.raises(ValueError, match="positive"):
        BatchPolicy(max_items=max_items, max_cost=max_cost, max_wait_s=max_wait_s)


# --- split_by_cost ----------------------------------------------------------------------------


@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 60))
def test_split_by_cost_runs_partition_the_input(costs: list[int], max_cost: int) -> None:
    runs = split_by_cost(costs, max_cost)
    assert [i for run in runs for i in run] == list(range(len(costs)))
    for run in runs:
        assert len(run) >= 1
        assert run.step == 1
        total = sum(costs[i] for i in run)
        assert total <= max_cost or len(run) == 1


@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 60))
def test_split_by_cost_runs_are_maximal(costs: list[int], max_cost: int) -> None:
    """Greedy: a run ends only because the next item would push it over max_cost."""
    runs = split_by_cost(costs, max_cost)
    for run in runs[:-1]:
        total = sum(costs[i] for i in run)
        assert total + costs[run.stop] > max_cost


@pytest.mark.parametrize(
    ("costs", "max_cost", "expected"),
    [
        ([], 10, []),
        ([5], 1, [range(0, 1)]),
        ([3, 3, 3, 3], 6, [range(0, 2), range(2, 4)]),
        ([3, 3, 3, 3], 7, [range(0, 2), range(2, 4)]),
        ([20, 1, 1], 10, [range(0, 1), range(1, 3)]),
        ([1, 20, 1], 10, [range(0, 1), range(1, 2), range(2, 3)]),
        ([0, 0, 0], 1, [range(0, 3)]),
        ([10, 10], 10, [range(0, 1), range(1, 2)]),
    ],
)
def test_split_by_cost_examples(costs: list[int], max_cost: int, expected: list[range]) -> None:
    assert split_by_cost(costs, max_cost) == expected
