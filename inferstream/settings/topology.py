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
        description="`embedded` (2 partitions), `dev` (6), `prod` (12, replication 3, min.isr 2)",
    )
    # Unset: the environment's count. Partitions are parallelism (one member per partition),
    # but on the embedded broker's s3 storage every partition a produce touches costs ~3 PUTs,
    # so a one-machine stack runs fewer; a GPU machine running 4 workers per stage sets 4.
    partitions: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="partitions per topic at creation (unset: the environment's count); "
        "a topic never shrinks",
    )
