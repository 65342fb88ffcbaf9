"""Storage foundations: versioned Postgres migrations, the connection pool, the object store."""

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
