"""Exponential backoff with full jitter and a cap (for transient dependency failures)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    initial_s: float
    max_s: float
    attempts: int = 0

    def next_delay(self, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_s, self.initial_s * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        # Full jitter: spreads retries of many workers after a shared outage.
        return (rng or random).uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
