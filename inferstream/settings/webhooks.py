"""Webhook delivery settings (INFERSTREAM_WEBHOOK_URLS, INFERSTREAM_WEBHOOK_SECRET) and the URL
policy: https only (plain http only to a loopback receiver, and only when allowed), no
credentials in the URL's authority, and a redacted form for logs and dead-letter reasons (a
receiver's path or query often carries a token)."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from inferstream.settings.base import ComponentSettings

# An HMAC-SHA256 key shorter than this is guessable offline from one signed delivery.
MIN_SECRET_LENGTH = 32


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: a receiver on the same machine (development only)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """``https://host:port/…#<8 hex>``: the receiver's origin, never its path, query or
    credentials; the digest tells two URLs on one host apart without revealing either."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{parts.scheme}://{host}{port}/…#{digest}"


def check_url(url: str, allow_loopback_http: bool) -> None:
    """Raise ValueError (naming the redacted URL) for a URL the webhooks must not call."""
    parts = urlsplit(url)
    shown = redact_url(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"webhook URL {shown} must be https://host/...")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"webhook URL {shown} must not carry credentials (user:password@)")
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise ValueError(f"webhook URL {shown} must be https (plain http only to loopback)")
        if not allow_loopback_http:
            raise ValueError(
                f"webhook URL {shown} is plain http: set INFERSTREAM_WEBHOOK_ALLOW_LOOPBACK_HTTP"
                "=true to allow it for a receiver on this machine (development only)"
            )


class WebhookSettings(ComponentSettings):
    section = "webhooks"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_WEBHOOK_", extra="forbid")

    # Before urls: their check reads it.
    allow_loopback_http: bool = Field(
        False,
        description="allow plain http:// to a loopback receiver (localhost, 127.0.0.0/8, ::1)"
        " for development; other hosts always need https",
    )
    # Comma-separated in the environment: INFERSTREAM_WEBHOOK_URLS=https://a/hook,https://b/hook.
    # https only; logs and dead-letter reasons show them redacted (origin and a digest).
    urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # HMAC-SHA256 key of X-Inferstream-Signature, at least 32 characters; from the platform's
    # secret store, never a file.
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

    @field_validator("secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"the webhook secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("urls")
    @classmethod
    def _check_urls(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for url in value:
            check_url(url, bool(info.data.get("allow_loopback_http", False)))
        return value
