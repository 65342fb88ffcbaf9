"""ONNX Runtime session settings for the model sessions of the infer workers."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class ModelSettings(ComponentSettings):
    section = "model"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_MODEL_", extra="forbid")

    # Threads of one session's intra-op pool; unset: one per core. On a small CPU shared with
    # the other stages, Kafka and Postgres, 1 leaves a core to them (docs/benchmarks.md).
    intra_op_threads: int | None = Field(None, ge=1, le=256)
    # Let idle intra-op threads spin (busy-wait) for the next op. Unset: off on CPU-only
    # sessions, where spinning threads take the cores the other processes need.
    allow_spinning: bool | None = None
