"""Watch a model's aliases: LISTEN on the catalog's NOTIFY channel, poll as the fallback.

A notification wakes the watcher at once; without one (missed across a reconnect, or a
database where the trigger is absent) it still reads the aliases every ``poll_s``. The callback
runs on the watcher's thread and only when the aliases differ from the last ones it was given.
A database that is down is retried with backoff; the callback keeps what it last saw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import structlog

from inferstream.models.registry import catalog
from inferstream.models.registry.catalog import AliasRow
from inferstream.retry import Backoff

CHANNEL = "inferstream_model_aliases"
log = structlog.get_logger("inferstream.models.watch")
Aliases = dict[str, tuple[str, float | None]]


def summary(rows: dict[str, AliasRow]) -> Aliases:
    """What a worker serves from the aliases: version and fraction per alias."""
    return {alias: (row.version, row.fraction) for alias, row in rows.items()}


class AliasWatcher(threading.Thread):
    def __init__(
        self,
        name: str,
        conninfo: str,
        on_change: Callable[[Aliases], None],
        seen: Aliases,
        poll_s: float = 5.0,
        on_tick: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name=f"alias-watch-{name}", daemon=True)
        self.model = name
        self._conninfo = conninfo
        self._on_change = on_change
        self._seen = seen
        self._poll_s = poll_s
        self._on_tick = on_tick
        # Not ``_stop``: threading.Thread has a method of that name, which join() and
        # is_alive() call once the thread has ended.
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    # Listening again: the next outage starts from the first wait, not from
                    # where the last one left off.
                    backoff.reset()
                    self._listen(conn)
            except psycopg.Error as err:
                delay = backoff.next_delay()
                log.warning(
                    "alias watch: database error; retrying", error=str(err), in_s=round(delay, 3)
                )
                self._stopping.wait(delay)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A connection that LISTENs on the catalog's channel."""
        conn = psycopg.connect(self._conninfo, autocommit=True)
        try:
            conn.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        while not self._stopping.is_set():
            self._check(conn)
            self._on_tick()
            # Any notification (or the poll interval) ends the wait; then re-read.
            for _ in conn.notifies(timeout=self._poll_s, stop_after=1):
                pass

    def _check(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        current = summary(catalog.get_aliases(conn, self.model))
        if current != self._seen:
            try:
                self._on_change(current)
            except Exception:  # a bad new version must not kill the watcher
                log.exception("alias change not applied; serving what was loaded")
            # Seen even when it failed: retrying the same bad version every poll would only
            # repeat the error; the next alias move is tried again.
            self._seen = current
