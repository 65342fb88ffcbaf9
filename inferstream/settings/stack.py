"""The embedded stack's own settings, one model (``INFERSTREAM_STACK_`` prefix): which storage
engine the embedded broker (Tansu) runs on, and the free space `inferstream up` needs.

A plain pydantic-settings model, not a ComponentSettings: it matters to `inferstream up` and
`status` only, never to a deployed worker, so it has no [table] in stack.toml and no place in the
deploy manifests. Here, not in ``inferstream.stack``, because the object store (storage, which
must not import the stack) reads the free-space floors on its error path (``free_space.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from inferstream.settings.base import SettingsError

__all__ = ["STACK_ENV_PREFIX", "BrokerStorage", "StackSettings", "load_stack_settings"]

BrokerStorage = Literal["s3", "memory"]
STACK_ENV_PREFIX = "INFERSTREAM_STACK_"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=STACK_ENV_PREFIX, extra="forbid", env_ignore_empty=True
    )

    # None: keep the engine this data dir used last (s3 on a first `up`).
    broker_storage: BrokerStorage | None = Field(
        default=None,
        description="the embedded broker's storage engine for `inferstream up`: `s3` (durable) "
        "or `memory` (`--broker-storage` wins; unset: what the data dir used last, else `s3`)",
    )
    # 2 GiB: the embedded Postgres keeps up to max_wal_size of WAL between checkpoints (2GB:
    # stack/servers.py, PG_SETTINGS), and SeaweedFS grows its volumes by tens of MB to 1 GB at
    # a time.
    min_free_mib: int = Field(
        default=2048,
        ge=0,
        description="`inferstream up` refuses to start when the data dir's filesystem has less "
        "free space than the larger of this (MiB) and INFERSTREAM_STACK_MIN_FREE_PERCENT of the "
        "disk, and warns below twice that; `status` flags it (0: no floor in bytes)",
    )
    # 2 %: twice SeaweedFS's own mark (1 %), below which it refuses every write.
    min_free_percent: float = Field(
        default=2.0,
        ge=0.0,
        le=100.0,
        description="the same floor in percent of the data dir's filesystem (0: none; both 0: "
        "no check)",
    )


def load_stack_settings() -> StackSettings:
    """The settings; a bad value is a one-line SettingsError naming the variable."""
    try:
        return StackSettings()
    except ValidationError as err:
        where = ", ".join(
            f"{STACK_ENV_PREFIX}{str(item['loc'][0]).upper()}: {item['msg']}"
            for item in err.errors()
            if item.get("loc")
        )
        raise SettingsError(where or str(err)) from None
