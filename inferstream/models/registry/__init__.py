"""The model registry: tabular bundles in object storage, versions and aliases in Postgres.

``api`` is the entry point (register, list_versions, promote, rollback, pin, fetch);
``bundles`` holds the checks a bundle passes at registration and again at load.
"""

from inferstream.models.registry.api import (
    fetch,
    get_alias,
    get_aliases,
    get_version,
    history,
    list_versions,
    pin,
    promote,
    register,
    rollback,
)
from inferstream.models.registry.bundles import BadBundleError
from inferstream.models.registry.catalog import ALIASES, RegistryError

__all__ = [
    "ALIASES",
    "BadBundleError",
    "RegistryError",
    "fetch",
    "get_alias",
    "get_aliases",
    "get_version",
    "history",
    "list_versions",
    "pin",
    "promote",
    "register",
    "rollback",
]
