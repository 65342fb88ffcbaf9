"""The nemesis schedule of a chaos run: which fault, when, against what (seeded, pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class ChaosConfig:
    submissions: int = 5000
    kills: int = 10
    pg_outage_s: float = 20.0
    s3_outage_s: float = 20.0
    poison: int = 3
    invalid: int = 5
    storm_s: float = 30.0
    seed: int = 0
    replicas: int = 2
    publish_s: float = 60.0
    drain_timeout_s: float = 900.0


@dataclass
class Fault:
    at_s: float
    kind: str  # kill, postgres, s3, storm
    target: str = ""
    duration_s: float = 0.0
    recovered_after_s: float | None = field(default=None, compare=False)

    def describe(self) -> str:
        what = f"{self.kind} {self.target}".strip()
        span = f" for {self.duration_s:.0f}s" if self.duration_s else ""
        return f"t={self.at_s:6.1f}s  {what}{span}"


def worker_names(replicas: int) -> list[str]:
    return [f"{stage}-{r}" for stage in ("enrich", "infer", "sink") for r in range(replicas)]


def plan(config: ChaosConfig) -> list[Fault]:
    """Faults spread over the publishing window, outages not overlapping each other."""
    rng = random.Random(config.seed)  # noqa: S311 (a reproducible schedule, not a secret)
    window = config.publish_s
    faults = [
        Fault(
            round(rng.uniform(0.05, 0.9) * window, 1),
            "kill",
            rng.choice(worker_names(config.replicas)),
        )
        for _ in range(config.kills)
    ]
    if config.pg_outage_s > 0:
        faults.append(Fault(round(0.25 * window, 1), "postgres", duration_s=config.pg_outage_s))
    if config.s3_outage_s > 0:
        start = 0.25 * window + config.pg_outage_s + 5
        faults.append(Fault(round(start, 1), "s3", duration_s=config.s3_outage_s))
    if config.storm_s > 0:
        start = 0.25 * window + config.pg_outage_s + config.s3_outage_s + 10
        faults.append(Fault(round(start, 1), "storm", "infer", duration_s=config.storm_s))
    return sorted(faults, key=lambda f: f.at_s)
