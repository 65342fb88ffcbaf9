"""Micro-batching policy: close a batch on max items, max cost or max wait, whichever first;
the caller may also close it early when the stage is idle (``close_idle``).

Pure: the caller feeds items with their cost and the clock; the policy says when to close.
Items keep their arrival order (per partition order is never changed by batching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
CloseReason = Literal["items", "cost", "wait", "idle", "drain"]


@dataclass(frozen=True)
class BatchPolicy:
    max_items: int
    max_cost: int
    max_wait_s: float

    def __post_init__(self) -> None:
        if self.max_items < 1 or self.max_cost < 1 or self.max_wait_s < 0:
            raise ValueError("batch limits must be positive")


@dataclass
class Batch(Generic[T]):
    items: list[T] = field(default_factory=list)
    cost: int = 0
    opened_at: float = 0.0
    reason: CloseReason = "drain"

    def fill_ratio(self, policy: BatchPolicy) -> float:
        return max(len(self.items) / policy.max_items, self.cost / policy.max_cost)


class Batcher(Generic[T]):
    """Accumulates items into one open batch and closes it by the policy."""

    def __init__(self, policy: BatchPolicy) -> None:
        self.policy = policy
        self._open: Batch[T] | None = None

    @property
    def pending(self) -> int:
        return 0 if self._open is None else len(self._open.items)

    @property
    def first(self) -> T | None:
        """The open batch's first item (None when no batch is open)."""
        return self._open.items[0] if self._open is not None and self._open.items else None

    def fits(self, cost: int) -> bool:
        """Would an item of this cost fit the open batch without exceeding a limit?"""
        batch = self._open
        if batch is None or not batch.items:
            return True  # an item costlier than max_cost still travels, alone
        return (
            len(batch.items) + 1 <= self.policy.max_items
            and batch.cost + cost <= self.policy.max_cost
        )

    def add(self, item: T, cost: int, now: float) -> Batch[T] | None:
        """Add an item; returns the batch it closed, if adding it closed one.

        If the item does not fit, the open batch is closed first (reason cost or items) and the
        item opens the next one.
        """
        closed: Batch[T] | None = None
        if not self.fits(cost):
            closed = self._close("items" if self._full_by_items() else "cost")
        if self._open is None:
            self._open = Batch(opened_at=now)
        self._open.items.append(item)
        self._open.cost += cost
        if closed is None and self._reached_limit():
            closed = self._close("items" if self._full_by_items() else "cost")
        return closed

    def deadline(self) -> float | None:
        if self._open is None:
            return None
        return self._open.opened_at + self.policy.max_wait_s

    def poll(self, now: float) -> Batch[T] | None:
        """Close the open batch if it is full (an item that did not fit the previous batch can
        fill the next one on its own) or its max wait has passed."""
        if self._open is not None and self._reached_limit():
            return self._close("items" if self._full_by_items() else "cost")
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            return self._close("wait")
        return None

    def close_idle(self) -> Batch[T] | None:
        """Close the open batch before its wait is over: the caller saw that no more items are
        waiting to join it and that the stage can take it now, so waiting would only add
        latency (batches grow under backlog, while the stage is busy)."""
        return self._close("idle") if self._open is not None else None

    def drain(self) -> Batch[T] | None:
        return self._close("drain") if self._open is not None else None

    def _full_by_items(self) -> bool:
        return self._open is not None and len(self._open.items) >= self.policy.max_items

    def _reached_limit(self) -> bool:
        batch = self._open
        assert batch is not None
        return len(batch.items) >= self.policy.max_items or batch.cost >= self.policy.max_cost

    def _close(self, reason: CloseReason) -> Batch[T] | None:
        batch, self._open = self._open, None
        if batch is not None:
            batch.reason = reason
        return batch


def split_by_cost(costs: Sequence[int], max_cost: int) -> list[range]:
    """Cut a sequence into consecutive runs whose total cost stays within max_cost."""
    runs: list[range] = []
    start, total = 0, 0
    for index, cost in enumerate(costs):
        if index > start and total + cost > max_cost:
            runs.append(range(start, index))
            start, total = index, 0
        total += cost
    if start < len(costs):
        runs.append(range(start, len(costs)))
    return runs
