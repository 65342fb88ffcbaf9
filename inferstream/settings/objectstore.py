"""S3 / MinIO object-store settings."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings

# S3 bucket naming rules, simplified: 3-63 lowercase letters, digits, dots and hyphens.
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class ObjectStoreSettings(ComponentSettings):
    section = "object_store"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_OBJECT_STORE_", extra="forbid")

    # host:port without a scheme; TLS is chosen by `secure`.
    endpoint: str = Field("127.0.0.1:9000", min_length=1, pattern=r"^[^/:]+(:\d{1,5})?$")
    secure: bool = Field(True, description="talk TLS to the endpoint")
    access_key: SecretStr | None = Field(
        None, description="S3 access key, from the platform, never from files in the repository"
    )
    secret_key: SecretStr | None = Field(
        None, description="S3 secret key, from the platform, never from files in the repository"
    )
    region: str | None = Field(None, description="S3 region (unset: the endpoint's default)")
    bucket: str = Field(
        "inferstream",
        pattern=BUCKET_PATTERN,
        description="the bucket for the results lake and claim-check blobs",
    )
    presign_expiry_s: int = Field(
        3600, ge=1, le=604_800, description="lifetime of presigned upload URLs"
    )
