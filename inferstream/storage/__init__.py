"""Storage foundations: versioned Postgres migrations, the connection pool, the object store.

The names are loaded on first use (PEP 562): ``from inferstream.storage import offsets`` in a
worker that never touches S3 (the sink, bug_report's infer) must not pay for MinIO's client,
about a second of imports on a loaded machine. Type checkers see the plain imports below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferstream.lazy import load

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

_MODULES = {name: f"{__name__}.{home}" for name, home in _HOMES.items()}

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
    return load(__name__, _MODULES, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
