"""The embedded stack's own setting: which storage engine the embedded broker (Tansu) runs on.

A plain pydantic-settings model (``INFERSTREAM_STACK_`` prefix), not a ComponentSettings: it
matters to `inferstream up` only, never to a deployed worker, so it has no [table] in stack.toml
and no place in the deploy manifests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from inferstream.stack.processes import StackError

BrokerStorage = Literal["s3", "memory"]
STORAGE_ENV = "INFERSTREAM_STACK_BROKER_STORAGE"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INFERSTREAM_STACK_", extra="forbid", env_ignore_empty=True
    )

    # None: keep the engine this data dir used last (s3 on a first `up`).
    broker_storage: BrokerStorage | None = None


def env_broker_storage() -> BrokerStorage | None:
    """INFERSTREAM_STACK_BROKER_STORAGE, if set; a bad value is a one-line StackError."""
    try:
        return StackSettings().broker_storage
    except ValidationError:
        raise StackError(f"{STORAGE_ENV}: expected 's3' or 'memory'") from None
