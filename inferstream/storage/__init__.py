"""Storage foundations: versioned Postgres migrations, the connection pool, the object store.

The names are loaded on first use (PEP 562): ``from inferstream.storage import offsets`` in a
worker that never touches S3 (the sink, bug_report's infer) must not pay for MinIO's client,
about a second of imports on a loaded machine. Type checkers see the plain imports below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferstream.storage.migrator import Migration, MigrationError, migrate, pending
    from inferstream.storage.objectstore import (
        BLOB_PREFIX,
        ChecksumMismatch,
        ObjectInfo,
        ObjectNotFound,
        ObjectStore,
        ObjectStoreError,
        ObjectStoreUnavailable,
        sha256_hex,
    )
    from inferstream.storage.pool import make_pool

# Each public name and the submodule that defines it.
_HOMES = {
    "Migration": "migrator",
    "MigrationError": "migrator",
    "migrate": "migrator",
    "pending": "migrator",
    "BLOB_PREFIX": "objectstore",
    "ChecksumMismatch": "objectstore",
    "ObjectInfo": "objectstore",
    "ObjectNotFound": "objectstore",
    "ObjectStore": "objectstore",
    "ObjectStoreError": "objectstore",
    "ObjectStoreUnavailable": "objectstore",
    "sha256_hex": "objectstore",
    "make_pool": "pool",
}

__all__ = [
    "BLOB_PREFIX",
    "ChecksumMismatch",
    "Migration",
    "MigrationError",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectStoreUnavailable",
    "make_pool",
    "migrate",
    "pending",
    "sha256_hex",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
