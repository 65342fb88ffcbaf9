"""media task settings (``INFERSTREAM_MEDIA_*`` or ``[media]`` in the config)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings import ComponentSettings


class MediaSettings(ComponentSettings):
    section = "media"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_MEDIA_", extra="forbid")

    video_frames: int = Field(
        8, ge=1, le=256, description="frames sampled uniformly from each video and scored"
    )
    decode_processes: int | None = Field(
        None, ge=1, le=256, description="image/video decode processes (unset: one per core)"
    )
    top_k: int = Field(5, ge=1, le=100, description="ImageNet labels returned per image")
    model_batch: int = Field(
        32, ge=1, le=4096, description="images (frames) per model call; a batch is cut to fit"
    )
    reuse_results: bool = Field(
        True, description="reuse the stored result of the same bytes and model version"
    )
    thumbnail_px: int = Field(
        160, ge=16, le=1024, description="longest side of the thumbnail artifact (JPEG)"
    )
