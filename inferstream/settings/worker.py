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

    group_prefix: str = Field(
        "inferstream",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="consumer groups are `<prefix>.<stage>.<task>`",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="bind address of `/health`, `/ready`, `/metrics` (containers bind `0.0.0.0`)",
    )
    metrics_port: int = Field(
        9400,
        ge=0,
        le=65535,
        description="port of `/health`, `/ready`, `/metrics` (0: any free port)",
    )
    batch_max_items: int = Field(
        64, ge=1, le=65_536, description="a batch closes at this many records"
    )
    batch_max_cost: int = Field(8_192, ge=1, description="... or at this cost (tokens for text)")
    model_call_max_tokens: int | None = Field(
        None,
        ge=1,
        description="a model call's padded tokens at most: infer splits a batch above it into "
        "several calls (a text longer than this still gets a call of its own); unset: "
        "batch_max_cost",
    )
    batch_max_wait_ms: int = Field(
        50,
        ge=0,
        le=60_000,
        description="... or after this wait (the longest a batch waits to fill while the stage "
        "is busy)",
    )
    batch_close_idle: bool = Field(
        True,
        description="close a batch at once when no more records are waiting and the stage can "
        "take it (false: a batch that does not fill always waits batch_max_wait_ms)",
    )
    max_in_flight: int = Field(
        1_024, ge=1, le=1_000_000, description="records held per worker before its partitions pause"
    )
    offset_gap_wait_ms: int = Field(
        0,
        ge=0,
        le=600_000,
        description="how long a consumer waits, sent back to the offset it expected, when the "
        "broker hands it a later one (a batch numbered but not stored yet: the embedded Tansu "
        "on s3 can store a later batch first); then it steps over the gap; 0: off (Kafka, where "
        "a gap is a transaction marker or compaction)",
    )
    poll_timeout_ms: int = Field(
        100,
        ge=1,
        le=10_000,
        description="the poll loop's wait for a record while records are in flight (commits, "
        "pauses and deferred starts come due); an idle loop waits 1 s; a record ends either wait",
    )
    # Each commit is a write per partition on the broker: on the embedded Tansu's s3:// engine
    # one S3 object each, which at the former 0.5 s was the largest share of SeaweedFS's CPU per
    # record (docs/benchmarks.md, overhead). A crash redelivers at most this much more; stages
    # are at-least-once and the sink keeps its offsets in Postgres, so nothing is duplicated.
    commit_interval_ms: int = Field(
        5_000,
        ge=0,
        le=600_000,
        description="done offsets are committed this often (Kafka's auto-commit default); "
        "rebalances and shutdown commit at once",
    )
    backoff_initial_ms: int = Field(
        200,
        ge=1,
        le=60_000,
        description="first retry delay on a dependency error (doubles per try)",
    )
    backoff_max_ms: int = Field(
        30_000, ge=1, le=3_600_000, description="longest retry delay on a dependency error"
    )
    dlq_max_per_minute: int = Field(
        1_000,
        ge=1,
        description="more rejections a minute stop the stage rather than drain a topic",
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        le=3_600,
        description="time a worker has after SIGTERM to finish its batch, commit and leave",
    )
    log_level: LogLevel = Field("INFO", description="log level of the JSON logs")
    # Where built model bundles (ONNX graphs) are cached; default: <data dir>/models.
    models_dir: Path | None = None
    # Reserved for real per-result artifacts (media thumbnails; no task has them yet). The sink
    # writes no object per result: results reach S3 through the archive stage's Parquet lake.
    sink_artifacts: bool = True
    # Fault injection for `inferstream chaos` only: the model raises on any batch holding a text
    # that contains this marker (a poison record). Never set it in production.
    fault_poison_marker: str | None = Field(None, min_length=8, max_length=64)

    @property
    def model_call_tokens(self) -> int:
        """A model call's cap in padded tokens: ``model_call_max_tokens``, else the batch's."""
        return self.model_call_max_tokens or self.batch_max_cost
