"""Which topology environment (partitions, replication, retention) the cluster should have."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings

Environment = Literal["embedded", "dev", "prod"]


class TopologySettings(ComponentSettings):
    section = "topology"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_TOPOLOGY_", extra="forbid")

    environment: Environment = Field(
        "dev",
        description="`embedded` (4 partitions), `dev` (6), `prod` (12, replication 3, min.isr 2)",
    )
