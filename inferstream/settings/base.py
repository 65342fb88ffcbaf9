"""Shared machinery for the per-component settings models.

Every component (kafka, postgres, object store, worker, api, ...) has one pydantic-settings
model with its own ``INFERSTREAM_<COMPONENT>_`` env prefix and its own ``[component]`` table in
the optional TOML files. Precedence, highest first: explicit keyword arguments, environment
variables, the file named by ``INFERSTREAM_CONFIG``, the ``stack.toml`` that ``inferstream up``
writes into the data directory, then the defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

CONFIG_ENV = "INFERSTREAM_CONFIG"
DATA_DIR_ENV = "INFERSTREAM_DATA_DIR"
DEFAULT_DATA_DIR = ".inferstream"
STACK_FILE = "stack.toml"


class SettingsError(ValueError):
    """A setting has an invalid value; the message is one line naming the variable."""


def data_dir() -> Path:
    """The embedded stack's data directory (``INFERSTREAM_DATA_DIR``, default ``.inferstream``)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser().resolve()


def config_files() -> list[Path]:
    """TOML files to read, highest precedence first."""
    files: list[Path] = []
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV}: config file {path} does not exist")
        files.append(path)
    stack_file = data_dir() / STACK_FILE
    if stack_file.is_file():
        files.append(stack_file)
    return files


def read_table(path: Path, section: str) -> dict[str, Any]:
    """The [section] table of a TOML file ({} when absent); a broken file is a clear error."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{path}: not a readable TOML file: {err}") from None
    table = document.get(section, {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [{section}] must be a table")
    return table


class ComponentSettings(BaseSettings):
    """Base for one component's settings; subclasses set ``section`` and the env prefix."""

    section: ClassVar[str] = ""
    # An empty variable means "not set" (deploy templates often carry blank optional values).
    model_config = SettingsConfigDict(extra="forbid", validate_default=True, env_ignore_empty=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        for path in config_files():
            table = read_table(path, cls.section)
            sources.append(InitSettingsSource(settings_cls, init_kwargs=table))
        return tuple(sources)

    @classmethod
    def env_name(cls, field: str) -> str:
        prefix = str(cls.model_config.get("env_prefix", ""))
        return f"{prefix}{field}".upper()

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build the settings, turning validation errors into one clear line."""
        try:
            return cls(**overrides)
        except ValidationError as err:
            raise SettingsError(describe_error(cls, err)) from None


def describe_error(cls: type[ComponentSettings], err: ValidationError) -> str:
    parts: list[str] = []
    for item in err.errors():
        loc: Sequence[int | str] = item.get("loc", ())
        field = str(loc[0]) if loc else ""
        if field:
            where = f"{cls.env_name(field)} (or [{cls.section}].{field} in a config file)"
        else:
            where = f"[{cls.section}] settings"
        parts.append(f"{where}: {item.get('msg', 'invalid value')}")
    return "; ".join(parts)
