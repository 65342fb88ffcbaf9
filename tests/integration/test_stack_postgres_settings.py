"""The embedded Postgres runs with the stack's checkpoint settings (stack/servers.py) and with
every durability setting at its default, on."""

from __future__ import annotations

import time

import psycopg
from _stack import Stack

from inferstream.stack.servers import PG_SETTINGS, configure_postgres

DURABILITY = ("fsync", "full_page_writes", "synchronous_commit")


def _shown(conninfo: str, names: tuple[str, ...]) -> dict[str, str]:
    with psycopg.connect(conninfo) as conn:
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in names}  # type: ignore[index]


def _until(conninfo: str, name: str, value: str) -> bool:
    """Whether a new connection shows ``value`` within 10 s (a reload reaches the postmaster
    asynchronously)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if _shown(conninfo, (name,))[name] == value:
            return True
        time.sleep(0.05)
    return False


def test_checkpoint_settings_in_effect_and_durability_untouched(stack: Stack) -> None:
    conninfo = stack.postgres.conninfo()
    assert PG_SETTINGS == {"max_wal_size": "2GB", "checkpoint_timeout": "15min"}
    assert _shown(conninfo, tuple(PG_SETTINGS)) == PG_SETTINGS
    assert _shown(conninfo, DURABILITY) == dict.fromkeys(DURABILITY, "on")


def test_a_data_dir_with_other_settings_takes_the_stacks(stack: Stack) -> None:
    """A server whose settings differ (a data dir of an earlier release) is set again, and the
    setting holds without a restart."""
    conninfo = stack.postgres.conninfo()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET checkpoint_timeout = '5min'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        assert _until(conninfo, "checkpoint_timeout", "5min")
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            configure_postgres(conn)
    assert _until(conninfo, "checkpoint_timeout", "15min")
    assert _shown(conninfo, tuple(PG_SETTINGS)) == PG_SETTINGS
