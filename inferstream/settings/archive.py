"""Archive stage settings: when a results-lake file is closed, and how it is compressed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class ArchiveSettings(ComponentSettings):
    section = "archive"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_ARCHIVE_", extra="forbid")

    # A file is closed (written, then its offsets committed) after this many records...
    max_records: int = Field(10_000, ge=1, le=10_000_000)
    # ...or when a record's own timestamp reaches the end of the record-time window the file's
    # first record falls in (0: no time rotation). Record time, never wall clock, so a replay
    # closes the same files.
    window_ms: int = Field(3_600_000, ge=0)
    compression: Literal["zstd", "snappy", "none"] = Field(
        "zstd", description="Parquet compression of the archive's files"
    )
