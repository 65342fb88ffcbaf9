"""Isolate poison records by bisection: a batch that fails as a whole is split in halves until
the failing records stand alone; they are rejected as poison, the rest succeed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from inferstream.workers.runtime.records import Outcome, PoisonBatchError, Reject

T = TypeVar("T")


def process_isolating(
    items: Sequence[T],
    step: Callable[[Sequence[T]], list[Outcome]],
    *,
    describe: Callable[[BaseException], str] = lambda err: f"{type(err).__name__}: {err}",
) -> tuple[list[Outcome], int]:
    """Run step on items; on PoisonBatchError bisect. Returns outcomes and the number of calls.

    Halves are processed in order, so per-partition order of outputs is kept. Transient errors
    and bugs propagate unchanged: only PoisonBatchError means "something in here is bad".
    """
    calls = 0

    def run(part: Sequence[T]) -> list[Outcome]:
        nonlocal calls
        calls += 1
        try:
            outcomes = step(part)
        except PoisonBatchError as err:
            if len(part) == 1:
                cause = err.__cause__ or err
                reason = f"poison record: {describe(cause)}"[:1000]
                return [Reject(reason, kind="poison", model=err.model)]
            middle = len(part) // 2
            return run(part[:middle]) + run(part[middle:])
        if len(outcomes) != len(part):
            raise RuntimeError(f"stage returned {len(outcomes)} outcomes for {len(part)} records")
        return outcomes

    if not items:
        return [], 0
    return run(items), calls
