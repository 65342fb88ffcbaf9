"""ONNX Runtime session settings for the model sessions of the infer workers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class ModelSettings(ComponentSettings):
    section = "model"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_MODEL_", extra="forbid")

    # Threads of one session's intra-op pool; unset: 1 where calls run in parallel (below) and
    # for the text model on a GPU, else one per core.
    intra_op_threads: int | None = Field(None, ge=1, le=256)
    # Model calls (length buckets of one batch) run at once, each on its own thread. Unset: one
    # per core on CPU-only sessions when intra_op_threads is unset too, else 1; GPU sessions
    # always make one call at a time. Independent single-thread calls keep every core busy
    # when other processes take one now and then, where the threads of one call wait for the
    # slowest (docs/benchmarks.md).
    parallel_calls: int | None = Field(None, ge=1, le=256)
    # Let idle intra-op threads spin (busy-wait) for the next op. Off by default: spinning
    # threads take the cores the other processes (stages, servers) need.
    allow_spinning: bool = False
    # What runs the text model: "onnx" (ONNX Runtime, the only choice for real traffic) or
    # "null", FOR BENCHMARKS ONLY: deterministic unit vectors from a hash of the token ids
    # (models/null.py), so `inferstream bench overhead` measures the pipeline outside the model.
    # Results are stamped model version "<version>+null".
    backend: Literal["onnx", "null"] = "onnx"
