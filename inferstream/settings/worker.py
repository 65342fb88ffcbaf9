"""Stage worker settings: batching, backpressure, dead-letter bounds, health/metrics port."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class WorkerSettings(ComponentSettings):
    section = "worker"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_WORKER_", extra="forbid")

    group_prefix: str = Field("inferstream", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9400, ge=0, le=65535)
    batch_max_items: int = Field(64, ge=1, le=65_536)
    batch_max_cost: int = Field(8_192, ge=1)
    batch_max_wait_ms: int = Field(50, ge=0, le=60_000)
    max_in_flight: int = Field(1_024, ge=1, le=1_000_000)
    poll_timeout_ms: int = Field(100, ge=1, le=10_000)
    backoff_initial_ms: int = Field(200, ge=1, le=60_000)
    backoff_max_ms: int = Field(30_000, ge=1, le=3_600_000)
    dlq_max_per_minute: int = Field(1_000, ge=1)
    shutdown_grace_s: float = Field(30.0, ge=0, le=3_600)
    log_level: LogLevel = "INFO"
    # Where built model bundles (ONNX graphs) are cached; default: <data dir>/models.
    models_dir: Path | None = None
    # Reserved for real per-result artifacts (media thumbnails; no task has them yet). The sink
    # writes no object per result: results reach S3 through the archive stage's Parquet lake.
    sink_artifacts: bool = True
    # Fault injection for `inferstream chaos` only: the model raises on any batch holding a text
    # that contains this marker (a poison record). Never set it in production.
    fault_poison_marker: str | None = Field(None, min_length=8, max_length=64)
