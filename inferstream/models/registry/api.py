"""The registry's Python API: what the CLI, the infer workers and the canary monitor call.

Each function opens its own short connection (``conninfo`` defaults to the environment's
Postgres settings), so a caller in another process needs nothing but the settings.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import psycopg

from inferstream.models.registry import catalog, store
from inferstream.models.registry.bundles import LocalBundle, check_bundle, load_checked, smoke
from inferstream.models.registry.catalog import AliasRow, HistoryRow, VersionRow
from inferstream.models.tabular import TabularBundle
from inferstream.settings import ObjectStoreSettings, PostgresSettings
from inferstream.storage.objectstore import ObjectStore


def _conninfo(conninfo: str | None) -> str:
    return conninfo or PostgresSettings.load().conninfo()


def default_actor() -> str:
    """Who moved an alias: the OS user (and host) of the process that did it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{os.uname().nodename}"


def register(
    bundle_dir: Path, *, conninfo: str | None = None, objects: ObjectStore | None = None
) -> tuple[LocalBundle, bool]:
    """Check a bundle (checksums, load, smoke inference), upload it to
    ``models/<name>/<version>/`` and record it; (bundle, False) when already registered.
    Raises BadBundleError (refused bundle) or RegistryError (same version, other bytes)."""
    bundle = check_bundle(bundle_dir)
    objects = objects or ObjectStore(ObjectStoreSettings.load())
    with psycopg.connect(_conninfo(conninfo)) as conn:
        existing = {v.version: v for v in catalog.list_versions(conn, bundle.name)}
        known = existing.get(bundle.version)
        if known is not None and known.sha256 == bundle.sums_sha256:
            return bundle, False
        objects.ensure_bucket()
        uri = store.upload(objects, bundle)
        return bundle, catalog.register_version(conn, bundle, uri)


def list_versions(name: str | None = None, *, conninfo: str | None = None) -> list[VersionRow]:
    with psycopg.connect(_conninfo(conninfo)) as conn:
        return catalog.list_versions(conn, name)


def get_version(name: str, version: str, *, conninfo: str | None = None) -> VersionRow | None:
    """One registered version (None when it is not registered)."""
    with psycopg.connect(_conninfo(conninfo)) as conn:
        try:
            return catalog.get_version(conn, name, version)
        except catalog.RegistryError:
            return None


def get_aliases(name: str, *, conninfo: str | None = None) -> dict[str, AliasRow]:
    with psycopg.connect(_conninfo(conninfo)) as conn:
        return catalog.get_aliases(conn, name)


def get_alias(name: str, alias: str, *, conninfo: str | None = None) -> AliasRow | None:
    return get_aliases(name, conninfo=conninfo).get(alias)


def history(
    name: str, alias: str | None = None, *, limit: int = 50, conninfo: str | None = None
) -> list[HistoryRow]:
    with psycopg.connect(_conninfo(conninfo)) as conn:
        return catalog.history(conn, name, alias, limit)


def promote(
    name: str,
    version: str,
    alias: str = "production",
    *,
    reason: str = "",
    fraction: float | None = None,
    actor: str | None = None,
    conninfo: str | None = None,
) -> str | None:
    """Point ``alias`` at ``version``; returns the version it named before."""
    with psycopg.connect(_conninfo(conninfo)) as conn:
        return catalog.promote(
            conn,
            name,
            alias,
            version,
            actor=actor or default_actor(),
            reason=reason,
            fraction=fraction,
        )


def rollback(
    name: str, alias: str, reason: str, *, actor: str | None = None, conninfo: str | None = None
) -> str | None:
    """Move ``alias`` back to its previous version with ``reason`` recorded (a canary with no
    previous version is cleared: all traffic back to production); the version it now names."""
    with psycopg.connect(_conninfo(conninfo)) as conn:
        return catalog.rollback(conn, name, alias, reason=reason, actor=actor or default_actor())


def pin(
    name: str,
    alias: str,
    version: str | None = None,
    *,
    off: bool = False,
    reason: str = "",
    actor: str | None = None,
    conninfo: str | None = None,
) -> None:
    who = actor or default_actor()
    with psycopg.connect(_conninfo(conninfo)) as conn:
        if off:
            catalog.unpin(conn, name, alias, actor=who, reason=reason)
        else:
            catalog.pin(conn, name, alias, version, actor=who, reason=reason)


def fetch(
    name: str,
    version: str,
    cache: Path,
    *,
    conninfo: str | None = None,
    objects: ObjectStore | None = None,
) -> TabularBundle:
    """A registered version, downloaded into ``cache`` and checked again (every file against
    the sha256 recorded at registration, then load and smoke inference) before it is served."""
    with psycopg.connect(_conninfo(conninfo)) as conn:
        row = catalog.get_version(conn, name, version)
    objects = objects or ObjectStore(ObjectStoreSettings.load())
    directory = store.download(objects, name, version, row.files, cache)
    bundle = load_checked(directory, name, version)
    smoke(bundle)
    return bundle
