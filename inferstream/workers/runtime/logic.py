"""The contract between the generic stage runner and a stage driver (enrich, infer, sink).

``StageLogic`` is a protocol with defaults: a driver that subclasses it writes only the hooks
it needs (every driver has ``process``; the sink alone has ``initial_offsets``), instead of
carrying no-op methods. The runner accepts any object with these methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from inferstream.workers.runtime.records import InRecord, Outcome
from inferstream.workers.runtime.watermark import Position


class StageLogic(Protocol):
    stage: str
    task: str

    @property
    def input_topics(self) -> Sequence[str]: ...

    def cost(self, record: InRecord) -> int:
        """Batch cost of one record (tokens, pixels, or 1)."""
        return 1

    def prepare(self, batch: Sequence[InRecord]) -> object:
        """CPU-side preparation (decode, tokenise) that may overlap the previous batch's run."""
        return None

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        """One outcome per record, in order. Raise TransientError when a dependency fails,
        PoisonBatchError when the batch as a whole failed and should be bisected."""
        ...

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        """Called once the batch's outputs are durable (e.g. to update an in-memory index)."""
        return

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int] | None:
        """Offsets to start from on assignment (the sink reads them from Postgres), or None to
        use the group's committed offsets."""
        return None

    def ready(self) -> tuple[bool, str]:
        """(ready, reason): model loaded, dependencies reachable."""
        return True, "ok"

    def close(self) -> None:
        return None


def coalesces_outputs(logic: object) -> bool:
    """A driver's optional ``coalesce_outputs = True``: the runner may process the batches
    already prepared behind a batch before that batch's outputs are durable, and flush them
    together (fewer, larger produce requests under backlog). Off unless the driver says so: a
    stage whose process() reads what after_durable() of the batch before recorded (infer: its
    own results join the dedup index there) must not. Not a protocol member, so drivers that
    do not subclass StageLogic need not declare it."""
    return bool(getattr(logic, "coalesce_outputs", False))
