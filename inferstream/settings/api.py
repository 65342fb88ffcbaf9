"""Results API settings: bind address, CORS, API keys and rate limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class ApiSettings(ComponentSettings):
    section = "api"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_API_", extra="forbid")

    host: str = Field(
        "127.0.0.1", description="bind address of `inferstream api` (containers bind `0.0.0.0`)"
    )
    port: int = Field(8080, ge=1, le=65535, description="port of `inferstream api`")
    # Comma-separated in the environment: INFERSTREAM_API_CORS_ORIGINS=https://a.example,https://b.example
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tls_enabled: bool = Field(
        False,
        description="served behind TLS: adds HSTS, the web view's cookie is Secure",
    )
    api_key_prefix: str = Field(
        "isk_live_", pattern=r"^[a-z][a-z0-9_]{1,31}$", description="prefix of new API keys"
    )
    api_key_ttl_days: int = Field(
        365, ge=1, le=3650, description="default lifetime of a new API key"
    )
    rate_reads_per_hour: int = Field(
        1_000, ge=1, description="read requests per key and hour before 429"
    )
    rate_writes_per_hour: int = Field(
        100, ge=1, description="write requests per key and hour before 429"
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ValueError(f"CORS origin {origin!r} must be scheme://host[:port]")
        return value
