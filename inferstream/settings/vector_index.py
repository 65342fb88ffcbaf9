"""How `inferstream db maintain` indexes the results' vectors off the sink's hot path."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class VectorIndexSettings(ComponentSettings):
    section = "vector_index"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_VECTOR_INDEX_", extra="forbid")

    # Rows of the open (unindexed) tail that close it into an HNSW-indexed range. Queries scan
    # the open tail exactly, so this bounds their brute-force work between maintenance runs.
    close_rows: int = Field(10_000, ge=1, le=10_000_000)
    # This many adjacent ranges of one size tier are rebuilt as one range (size-tiered, like an
    # LSM tree): a query probes O(fanout * log(rows)) indexes, each row is rebuilt O(log) times.
    fanout: int = Field(4, ge=2, le=64)
    # Memory for one HNSW build; a build whose graph does not fit is much slower.
    maintenance_work_mem: str = Field("256MB", pattern=r"^[0-9]+(kB|MB|GB)$")
