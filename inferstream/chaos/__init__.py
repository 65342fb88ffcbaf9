"""`inferstream chaos`: faults on a seeded schedule against a running pipeline, then verify.

The names below load on first use (PEP 562): the server restarts of a run import
``inferstream.chaos.faults`` in a subprocess of their own, and an eager import of the run here
(verify, the supervisor, the plug-ins) cost that subprocess ~7 of its ~10 s of imports at load
17, inside every Postgres or S3 outage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferstream.lazy import load

if TYPE_CHECKING:
    from inferstream.chaos.result import ChaosResult
    from inferstream.chaos.run import ChaosRun
    from inferstream.chaos.schedule import ChaosConfig, Fault, plan

__all__ = ["ChaosConfig", "ChaosResult", "ChaosRun", "Fault", "plan"]

_HOMES = {
    "ChaosConfig": "inferstream.chaos.schedule",
    "ChaosResult": "inferstream.chaos.result",
    "ChaosRun": "inferstream.chaos.run",
    "Fault": "inferstream.chaos.schedule",
    "plan": "inferstream.chaos.schedule",
}


def __getattr__(name: str) -> object:
    return load(__name__, _HOMES, name)
