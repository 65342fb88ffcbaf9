"""Where the monitor reads a version's reference and the aliases: the model registry
(inferstream.models.registry), with the local models directory as the fallback for a bundle
that infer loads from there without having been registered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import structlog

from inferstream.monitor.reference import Reference, from_metadata

log = structlog.get_logger("inferstream.monitor")
RETRY_MISSING_S = 60.0


class Catalog:
    def __init__(self, conninfo: str, models_dir: Path) -> None:
        self.conninfo = conninfo
        self.models_dir = models_dir
        self._references: dict[tuple[str, str], Reference | None] = {}
        self._missing_until: dict[tuple[str, str], float] = {}

    def reference(self, name: str, version: str) -> Reference | None:
        """A version's reference, cached; a missing one is looked up again after a minute (a
        version may be registered after its first results were seen)."""
        key = (name, version)
        cached = self._references.get(key)
        if cached is not None or self._missing_until.get(key, 0.0) > time.monotonic():
            return cached
        found = self._registered(name, version) or self._local(name, version)
        if found is None:
            log.warning("no reference distribution", model=name, version=version)
            self._missing_until[key] = time.monotonic() + RETRY_MISSING_S
        self._references[key] = found
        return found

    def _registered(self, name: str, version: str) -> Reference | None:
        from inferstream.models import registry  # loads ONNX Runtime: only when asked

        try:
            row = registry.get_version(name, version, conninfo=self.conninfo)
        except psycopg.Error:
            return None
        return None if row is None else from_metadata(row.metadata)

    def _local(self, name: str, version: str) -> Reference | None:
        path = self.models_dir / name / version / "metadata.json"
        try:
            return from_metadata(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None

    def aliases(self, name: str) -> dict[str, str]:
        """alias -> version of a registered model (empty when it is not registered)."""
        from inferstream.models import registry

        try:
            rows = registry.get_aliases(name, conninfo=self.conninfo)
        except psycopg.Error:
            return {}
        return {alias: row.version for alias, row in rows.items()}

    def production(self, name: str) -> str | None:
        """The version infer serves: the production alias, else the directory's LATEST."""
        version = self.aliases(name).get("production")
        if version is not None:
            return version
        try:
            return (self.models_dir / name / "LATEST").read_text().strip() or None
        except OSError:
            return None

    def rollback(self, name: str, reason: str) -> str | None:
        from inferstream.models import registry

        return registry.rollback(
            name, "canary", reason, actor="inferstream-monitor", conninfo=self.conninfo
        )
