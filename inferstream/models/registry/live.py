"""The versions an infer worker serves, switched between batches without a restart.

The watcher thread loads a new version beside the one being served (download, checks, smoke
inference: all off the batch path), then hands it over as the *pending* set. The batch thread
calls ``take()`` once per batch: it adopts the pending set there, between two batches, so a
batch never mixes versions (except the canary split, which is by key and deliberate). The old
version is released on the watcher thread, after the switch; the pause the batch path pays is
the adoption alone, measured and logged as ``model switched`` with ``pause_ms``.

Without a production alias in the registry the worker serves the local bundle (``LATEST``
under the models dir), as before the registry existed; a later promotion switches to it.
``conninfo=None`` serves the local bundle only, with no registry and no watcher (unit tests,
offline benchmarks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import psycopg
import structlog
from prometheus_client import Counter, Gauge, Histogram

from inferstream.models.registry import api
from inferstream.models.registry.catalog import get_aliases
from inferstream.models.registry.watch import Aliases, AliasWatcher, summary
from inferstream.models.tabular import TabularBundle
from inferstream.retry import Backoff

M = TypeVar("M")
STARTUP_RETRY_S = 600.0
POLL_S = 5.0  # alias re-read without a NOTIFY (missed across a reconnect)
# The alias this process serves: "production" (with its canary), or "shadow" in the one
# process that `inferstream models shadow` runs (serve_alias() before the model is loaded).
_PROCESS_ALIAS = ["production"]


def serve_alias(alias: str) -> None:
    """Make the models this process loads from now on serve ``alias`` instead of production."""
    if alias not in ("production", "shadow"):
        raise ValueError(f"a process serves production or shadow, not {alias!r}")
    _PROCESS_ALIAS[0] = alias


_PROCESS_VERSION: list[str | None] = [None]


def serve_version(version: str) -> None:
    """Make the models this process loads from now on serve this registered version, whatever
    the aliases say, with no watcher (`inferstream models backfill`)."""
    _PROCESS_VERSION[0] = version


log = structlog.get_logger("inferstream.models.live")
SWITCHES = Counter("inferstream_model_switches_total", "Served-version switches", ["model"])
PAUSE = Histogram(
    "inferstream_model_switch_pause_seconds",
    "Time the batch path spent adopting a new version",
    ["model"],
    buckets=(1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0),
)
SERVED = Gauge(
    "inferstream_model_served", "1 for each version served", ["model", "alias", "version"]
)


@dataclass(frozen=True)
class Served(Generic[M]):
    """What one batch is served by: production, and the canary with its share of keys."""

    production: tuple[str, M]
    canary: tuple[str, M] | None = None
    fraction: float | None = None

    def versions(self) -> dict[str, str]:
        out = {"production": self.production[0]}
        if self.canary is not None:
            out["canary"] = self.canary[0]
        return out


class LiveModels(Generic[M]):
    def __init__(
        self,
        name: str,
        load: Callable[[TabularBundle], M],
        local: Callable[[], TabularBundle],
        conninfo: str | None,
        cache: Path,
        poll_s: float = POLL_S,
    ) -> None:
        self.name = name
        # "shadow": the shadow alias is served in the production slot, with no canary.
        self.alias = _PROCESS_ALIAS[0]
        self._load_model = load
        self._local = local
        self._conninfo = conninfo
        self._cache = cache
        self._lock = threading.Lock()
        self._pending: Served[M] | None = None
        self._retired: list[Served[M]] = []
        self._loaded: dict[str, M] = {}  # version -> model, what the watcher may reuse
        self._watcher: AliasWatcher | None = None
        if _PROCESS_VERSION[0] is not None and conninfo:
            self._served = Served(self._model(_PROCESS_VERSION[0]))
            return
        seen = _aliases_at_start(name, conninfo) if conninfo else {}
        self._served = self._build(seen)
        self._publish(self._served)
        if conninfo:
            self._watcher = AliasWatcher(name, conninfo, self._changed, seen, poll_s, self._tick)

    def start(self) -> None:
        if self._watcher is not None:
            self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    @property
    def served(self) -> Served[M]:
        return self._served

    def take(self) -> Served[M]:
        """The set to serve this batch with; adopts a pending one first (the switch)."""
        if self._pending is None:
            return self._served
        started = time.perf_counter()
        with self._lock:
            new, self._pending = self._pending, None
            if new is None:
                return self._served
            old, self._served = self._served, new
            self._retired.append(old)
        pause = time.perf_counter() - started
        PAUSE.labels(self.name).observe(pause)
        SWITCHES.labels(self.name).inc()
        self._publish(new, old)
        log.info(
            "model switched",
            model=self.name,
            before=old.versions(),
            after=new.versions(),
            pause_ms=round(pause * 1000, 4),
        )
        return new

    def _model(self, version: str | None) -> tuple[str, M]:
        """A version loaded (once) beside what is served; None: the local bundle."""
        if version is not None and version in self._loaded:
            return version, self._loaded[version]
        if version is None or self._conninfo is None:
            bundle = self._local()
        else:
            bundle = api.fetch(self.name, version, self._cache, conninfo=self._conninfo)
        model = self._load_model(bundle)
        self._loaded[bundle.version] = model
        return bundle.version, model

    def _build(self, aliases: Aliases) -> Served[M]:
        production = aliases.get(self.alias)
        canary = aliases.get("canary") if self.alias == "production" else None
        return Served(
            self._model(production[0] if production else None),
            self._model(canary[0]) if canary else None,
            canary[1] if canary else None,
        )

    def _changed(self, aliases: Aliases) -> None:
        """On the watcher thread: load what the aliases name beside the served set."""
        started = time.perf_counter()
        new = self._build(aliases)
        with self._lock:
            self._pending = new
        log.info(
            "model loaded beside the served one",
            model=self.name,
            next=new.versions(),
            load_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _tick(self) -> None:
        """On the watcher thread, at every wake-up: unload the versions a switch retired (their
        ONNX sessions are freed with the last reference), once neither served nor pending."""
        with self._lock:
            if not self._retired:
                return
            self._retired.clear()
            keep = set(self._served.versions().values())
            if self._pending is not None:
                keep |= set(self._pending.versions().values())
        for version in [v for v in self._loaded if v not in keep]:
            del self._loaded[version]
            log.info("model unloaded", model=self.name, version=version)

    def _publish(self, new: Served[M], old: Served[M] | None = None) -> None:
        if old is not None:
            for alias, version in old.versions().items():
                SERVED.labels(self.name, alias, version).set(0)
        for alias, version in new.versions().items():
            SERVED.labels(self.name, alias, version).set(1)


def _aliases_at_start(name: str, conninfo: str, retry_s: float = STARTUP_RETRY_S) -> Aliases:
    """The aliases when the worker starts; Postgres down: retried with backoff (a worker that
    served the local bundle instead could serve a version the registry has rolled back)."""
    deadline, backoff = time.monotonic() + retry_s, Backoff(0.5, 15.0)
    while True:
        try:
            with psycopg.connect(conninfo) as conn:
                return summary(get_aliases(conn, name))
        except psycopg.OperationalError as err:
            if time.monotonic() > deadline:
                raise
            delay = backoff.next_delay()
            log.warning(
                "Postgres unavailable at start; retrying", error=str(err), in_s=round(delay, 3)
            )
            time.sleep(delay)  # backoff between tries, not synchronisation
