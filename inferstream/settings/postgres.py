"""PostgreSQL settings: connection, TLS (sslmode) and pool size."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from psycopg.conninfo import make_conninfo
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresSettings(ComponentSettings):
    section = "postgres"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_POSTGRES_", extra="forbid")

    # A hostname, an IP address, or (for the embedded server) a unix-socket directory.
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(5432, ge=1, le=65535, description="server port")
    user: str = Field("inferstream", min_length=1, max_length=63, description="database user")
    password: SecretStr | None = Field(
        None, description="database password, from the platform's secret store"
    )
    database: str = Field("inferstream", min_length=1, max_length=63, description="database name")
    sslmode: SslMode = Field("prefer", description="libpq sslmode")
    sslrootcert: Path | None = Field(None, description="CA bundle for `verify-ca` / `verify-full`")
    sslcert: Path | None = Field(None, description="client certificate")
    sslkey: Path | None = Field(None, description="client key")
    application_name: str = Field(
        "inferstream", max_length=63, description="connection label seen in pg_stat_activity"
    )
    connect_timeout_s: int = Field(10, ge=1, le=600, description="connection timeout")
    statement_timeout_ms: int = Field(
        30_000, ge=0, le=86_400_000, description="statement timeout of every connection (0: none)"
    )
    pool_min_size: int = Field(
        1, ge=0, le=1000, description="connections the psycopg pool keeps open"
    )
    pool_max_size: int = Field(
        10, ge=1, le=1000, description="most connections the psycopg pool opens"
    )

    @model_validator(mode="after")
    def _check_pool(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    def conninfo(self, *, database: str | None = None) -> str:
        params: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": database or self.database,
            "application_name": self.application_name,
            "connect_timeout": self.connect_timeout_s,
            "options": f"-c statement_timeout={self.statement_timeout_ms}",
        }
        # sslmode means nothing on a unix socket; libpq ignores it there.
        params["sslmode"] = self.sslmode
        if self.password is not None:
            params["password"] = self.password.get_secret_value()
        for key, path in (
            ("sslrootcert", self.sslrootcert),
            ("sslcert", self.sslcert),
            ("sslkey", self.sslkey),
        ):
            if path is not None:
                params[key] = str(path)
        return make_conninfo("", **params)
