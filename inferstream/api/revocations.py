"""Key revocation reaches every API replica at once: Postgres NOTIFY, one LISTEN per replica.

Each replica caches verified keys for the cache TTL (30 s by default), so without a signal a key
revoked elsewhere (``inferstream keys revoke``, another replica's admin route) kept working here
until its entry went stale. ``revoke_key`` notifies ``CHANNEL`` with the key prefix in the same
transaction (delivered on commit); this listener drops that key from the local cache. If the
listener's connection is down, the TTL still bounds how long a revoked key is honoured.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import structlog

from inferstream.api.keys import REVOCATION_CHANNEL

log = structlog.get_logger("inferstream.api")
RETRY_S = 2.0


class RevocationListener:
    def __init__(self, conninfo: str, on_revoked: Callable[[str], None]) -> None:
        self._conninfo = conninfo
        self._on_revoked = on_revoked
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="key-revocations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def wait_listening(self, timeout_s: float) -> bool:
        """True once LISTEN is in place (tests; startup does not wait for it)."""
        return self._listening.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as err:
                self._listening.clear()
                log.warning("key revocation listener reconnecting", error=str(err))
                self._stop.wait(RETRY_S)

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {REVOCATION_CHANNEL}")
            self._listening.set()
            while not self._stop.is_set():
                # A short timeout so that stop() is honoured within a second.
                for notify in conn.notifies(timeout=1.0):
                    self._on_revoked(notify.payload)
