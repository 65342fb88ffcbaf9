"""The nemesis schedule of a chaos run: which fault, when, against what (seeded, pure).

Two lanes. Worker faults (kills, worker pauses, the rebalance storm) land at random times in
the publishing window and may overlap anything. Server faults (Postgres and S3 outages, a
kill -9 of the broker, a full stack restart, SIGSTOP pauses of a server) take turns in one
lane, in a seeded order with a gap after each, so two of them never stack up. Every stage gets
at least one kill and every enabled fault kind and pause target appears at least once; only
then are the remaining kills and pauses drawn at random (a purely random draw could skip a
stage: seed 7 with 15 kills never killed an infer worker).

With media submissions (``--media``), each media worker (one per stage) is killed once and its
infer stage gets a storm too; their targets carry MEDIA_PREFIX. They are drawn after every
other fault, so a seed's bug-report schedule is the same with or without media.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from inferstream.topology import STAGES

SERVERS = ("broker", "postgres", "s3")
SERVER_KINDS = ("postgres", "s3", "broker", "restart")
GAP_S = 10.0  # after each server fault: time for `up` and for the pipeline to catch its breath
BROKER_KILL_S = 2.0  # the broker is down this long before it is restarted
RESTART_DOWN_S = 3.0  # every server is down this long in a stack restart
MEDIA_PREFIX = "media:"  # a media worker's target: media:<stage>-<replica>, media:<stage>


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
    ready_timeout_s: float = 300.0  # for every worker to load its model and answer /ready
    broker_kills: int = 1
    stack_restarts: int = 1
    pauses: int = 4  # SIGSTOP/SIGCONT: the first four cover broker, Postgres, S3 and a worker
    pause_s: tuple[float, float] = (10.0, 30.0)
    media: int = 0  # media submissions (images, videos) alongside the reports: chaos/media.py
    gap_s: float = GAP_S  # between a server fault's end and the next one's start


@dataclass
class Fault:
    at_s: float
    kind: str  # kill, postgres, s3, storm, broker, restart, pause
    target: str = ""
    duration_s: float = 0.0
    recovered_after_s: float | None = field(default=None, compare=False)

    @property
    def server_lane(self) -> bool:
        return self.kind in SERVER_KINDS or (self.kind == "pause" and self.target in SERVERS)

    def describe(self) -> str:
        what = f"{self.kind} {self.target}".strip()
        span = f" for {self.duration_s:.0f}s" if self.duration_s else ""
        return f"t={self.at_s:6.1f}s  {what}{span}"


def worker_names(replicas: int) -> list[str]:
    return [f"{stage}-{r}" for stage in STAGES for r in range(replicas)]


def plan(config: ChaosConfig) -> list[Fault]:
    """The whole schedule, sorted by time."""
    rng = random.Random(config.seed)  # noqa: S311 (a reproducible schedule, not a secret)
    window = config.publish_s
    faults = [Fault(_in_window(rng, window), "kill", t) for t in kill_targets(config, rng)]
    pauses = pause_targets(config, rng)
    for target in pauses:
        if target not in SERVERS:
            faults.append(Fault(_in_window(rng, window), "pause", target, _pause_s(config, rng)))
    if config.storm_s > 0:
        faults.append(Fault(_in_window(rng, window), "storm", "infer", duration_s=config.storm_s))
    faults += _server_lane(config, rng, [t for t in pauses if t in SERVERS])
    if config.media:
        faults += media_faults(config, rng)
    return sorted(faults, key=lambda f: f.at_s)


def media_faults(config: ChaosConfig, rng: random.Random) -> list[Fault]:
    """A kill of each media worker (one replica per stage, in a seeded order), and a storm on
    media infer half as long as the bug-report one (each member loads the image model)."""
    stages = list(STAGES)
    rng.shuffle(stages)
    window = config.publish_s
    faults = [Fault(_in_window(rng, window), "kill", f"{MEDIA_PREFIX}{s}-0") for s in stages]
    if config.storm_s > 0:
        storm = Fault(_in_window(rng, window), "storm", f"{MEDIA_PREFIX}infer", config.storm_s / 2)
        faults.append(storm)
    return faults


def split_target(target: str) -> tuple[bool, str]:
    """(a media worker?, the worker or stage name its supervisor knows)."""
    if target.startswith(MEDIA_PREFIX):
        return True, target.removeprefix(MEDIA_PREFIX)
    return False, target


def kill_targets(config: ChaosConfig, rng: random.Random) -> list[str]:
    """One worker of each stage first (in a seeded order), then any worker."""
    stages = list(STAGES)
    rng.shuffle(stages)
    first = [f"{stage}-{rng.randrange(config.replicas)}" for stage in stages]
    rest = [rng.choice(worker_names(config.replicas)) for _ in range(config.kills - len(first))]
    return (first + rest)[: config.kills]


def pause_targets(config: ChaosConfig, rng: random.Random) -> list[str]:
    """The three servers and one worker first, then any of them."""
    everything = [*SERVERS, *worker_names(config.replicas)]
    first = [*SERVERS, rng.choice(worker_names(config.replicas))]
    rest = [rng.choice(everything) for _ in range(config.pauses - len(first))]
    return (first + rest)[: config.pauses]


def _server_lane(config: ChaosConfig, rng: random.Random, paused: list[str]) -> list[Fault]:
    lane: list[Fault] = []
    if config.pg_outage_s > 0:
        lane.append(Fault(0, "postgres", duration_s=config.pg_outage_s))
    if config.s3_outage_s > 0:
        lane.append(Fault(0, "s3", duration_s=config.s3_outage_s))
    lane += [Fault(0, "broker", "tansu", BROKER_KILL_S) for _ in range(config.broker_kills)]
    lane += [Fault(0, "restart", "stack", RESTART_DOWN_S) for _ in range(config.stack_restarts)]
    lane += [Fault(0, "pause", target, _pause_s(config, rng)) for target in paused]
    rng.shuffle(lane)
    at = 0.15 * config.publish_s
    for fault in lane:
        fault.at_s = round(at, 1)
        at += fault.duration_s + config.gap_s
    return lane


def _in_window(rng: random.Random, window: float) -> float:
    return round(rng.uniform(0.05, 0.9) * window, 1)


def _pause_s(config: ChaosConfig, rng: random.Random) -> float:
    return round(rng.uniform(*config.pause_s), 1)
