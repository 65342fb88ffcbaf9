"""`inferstream chaos`: faults on a seeded schedule against a running pipeline, then verify."""

from inferstream.chaos.run import ChaosResult, ChaosRun
from inferstream.chaos.schedule import ChaosConfig, Fault, plan

__all__ = ["ChaosConfig", "ChaosResult", "ChaosRun", "Fault", "plan"]
