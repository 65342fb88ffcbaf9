"""Webhook delivery settings (seed 001: WEBHOOK_URLS, WEBHOOK_SECRET)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class WebhookSettings(ComponentSettings):
    section = "webhooks"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_WEBHOOK_", extra="forbid")

    # Comma-separated in the environment: INFERSTREAM_WEBHOOK_URLS=https://a/hook,https://b/hook
    urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # HMAC-SHA256 key of X-Inferstream-Signature; from the platform's secret store, never a file.
    secret: SecretStr | None = None
    max_attempts: int = Field(
        5,
        ge=1,
        le=50,
        description="tries per URL before the result is dead-lettered naming the URL",
    )
    backoff_initial_s: float = Field(
        0.5, gt=0, le=60, description="first retry delay (doubles per try)"
    )
    backoff_max_s: float = Field(30.0, gt=0, le=3600, description="longest retry delay")
    timeout_s: float = Field(10.0, gt=0, le=120, description="timeout of one delivery")

    @field_validator("urls", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("urls")
    @classmethod
    def _check(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"webhook URL {url!r} must start with https:// or http://")
        return value
