"""`inferstream chaos`: faults on a seeded schedule against a running pipeline, then verify."""

from inferstream.chaos.result import ChaosResult
from inferstream.chaos.run import ChaosRun
from inferstream.chaos.schedule import ChaosConfig, Fault, plan

__all__ = ["ChaosConfig", "ChaosResult", "ChaosRun", "Fault", "plan"]
