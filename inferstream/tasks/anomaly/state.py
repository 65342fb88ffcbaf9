"""Per-series windows of past observations, keyed by stream position (pure, in memory).

The position of an observation is (partition, offset) of its record on ``enriched.anomaly``,
which enrich keys by ``series_id``: every observation of a series is in one partition, in the
order it will be scored. ``before(series, position)`` returns only entries strictly before the
position, and ``add`` is idempotent (same position, same values), so scoring a record again
after a crash -- with later results already known -- gives the identical score. The windows are
rebuilt from durable results (Postgres, then the result topic): a changelog in all but name.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

Position = tuple[int, int]


@dataclass
class _Series:
    positions: list[Position] = field(default_factory=list)
    values: dict[Position, tuple[float, ...]] = field(default_factory=dict)


class SeriesWindows:
    def __init__(self, window: int, keep: int | None = None) -> None:
        self.window = window
        # Entries kept per series: replays after a crash only reach back to the last committed
        # offset, so a few windows' worth is plenty.
        self.keep = keep if keep is not None else 8 * window
        self._series: dict[str, _Series] = {}

    def add(self, series_id: str, position: Position, values: Sequence[float]) -> None:
        state = self._series.setdefault(series_id, _Series())
        if position in state.values:
            return
        bisect.insort(state.positions, position)
        state.values[position] = tuple(float(v) for v in values)
        while len(state.positions) > self.keep:
            oldest = state.positions.pop(0)
            del state.values[oldest]

    def before(self, series_id: str, position: Position) -> list[tuple[float, ...]]:
        """The last ``window`` observations strictly before ``position``, oldest first."""
        state = self._series.get(series_id)
        if state is None:
            return []
        end = bisect.bisect_left(state.positions, position)
        return [state.values[p] for p in state.positions[max(0, end - self.window) : end]]

    def __len__(self) -> int:
        return sum(len(s.positions) for s in self._series.values())

    def series_count(self) -> int:
        return len(self._series)
