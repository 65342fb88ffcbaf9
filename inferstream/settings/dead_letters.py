"""Dead-letter retention: how long rejected records (with their original bytes) are kept in
Postgres before `inferstream dlq purge` deletes them. The `deadletter` topic's own retention is
set by the topology (30 days, `retention.ms`); keep the two in step."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class DeadLetterSettings(ComponentSettings):
    section = "dead_letters"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_DLQ_", extra="forbid")

    retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="dead letters older than this many days are deleted by `inferstream dlq"
        " purge` (they hold the rejected records' original bytes)",
    )
    purge_batch_rows: int = Field(
        5000,
        ge=1,
        le=1_000_000,
        description="rows deleted per transaction by a purge (short locks, bounded WAL bursts)",
    )
