"""How long to wait before retrying a dependency that failed: exponential backoff with full
jitter and a cap. One policy for the stages' runtime, the shadow run and the model registry's
watcher (stdlib only, so any layer may use it; which errors are worth a retry is the runtime's
``is_transient``)."""

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
