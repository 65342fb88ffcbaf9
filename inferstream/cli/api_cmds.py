"""`inferstream api` (the results API under uvicorn) and `inferstream keys ...`."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.markup import escape

from inferstream.api.keys import (
    KeyRecord,
    Role,
    UnknownKeyError,
    create_key,
    expiring_soon,
    list_keys,
    revoke_key,
    rotate_key,
    utcnow,
)
from inferstream.settings import ApiSettings, PostgresSettings

out = Console(soft_wrap=True, highlight=False)
err = Console(soft_wrap=True, highlight=False, stderr=True)
keys_app = typer.Typer(help="API keys of the results API.", no_args_is_help=True)

EXPIRY_WARNING_DAYS = 7


class RoleName(StrEnum):
    reader = "reader"
    producer = "producer"
    admin = "admin"


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(PostgresSettings.load().conninfo(), autocommit=False)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(1)


def _print_new(key: str, record: KeyRecord) -> None:
    err.print(
        f"created {record.role.name} key [bold]{record.key_prefix}[/] ({escape(record.name)}), "
        f"expires {record.expires_at:%Y-%m-%d}. It is shown only now: store it safely."
    )
    out.print(key)


def api_cmd(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default INFERSTREAM_API_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default INFERSTREAM_API_PORT, 8080).")
    ] = None,
) -> None:
    """Serve the results API and the web view (uvicorn; default 127.0.0.1:8080)."""
    import uvicorn  # only this command needs the server

    from inferstream.api import create_app

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = ApiSettings.load(**overrides)
    from inferstream.settings import KafkaSettings, ObjectStoreSettings
    from inferstream.storage import ObjectStore

    app = create_app(
        settings,
        PostgresSettings.load(),
        ready_checks=_dependency_checks(),
        kafka=KafkaSettings.load(),
        objects=ObjectStore(ObjectStoreSettings.load()),
    )
    # log_config=None: uvicorn logs through the root logger (JSON lines, see observability).
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, server_header=False)


def _dependency_checks() -> dict[str, Callable[[], bool]]:
    """/ready also probes the object store and Kafka (both used by the API's ingest paths)."""
    from confluent_kafka.admin import AdminClient

    from inferstream.settings import KafkaSettings, ObjectStoreSettings
    from inferstream.storage import ObjectStore

    store = ObjectStore(ObjectStoreSettings.load())
    admin = AdminClient({**KafkaSettings.load().admin_config(), "log_level": 0})

    def kafka_reachable() -> bool:
        admin.list_topics(timeout=2.0)
        return True

    return {"s3": store.ping, "kafka": kafka_reachable}


TtlDays = Annotated[
    int | None,
    typer.Option(
        min=1, max=3650, help="Days until expiry (default: INFERSTREAM_API_API_KEY_TTL_DAYS, 365)."
    ),
]


@keys_app.command("create")
def create_cmd(
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    role: Annotated[RoleName, typer.Option(help="reader < producer < admin.")],
    ttl_days: TtlDays = None,
) -> None:
    """Create a key and print it once (stdout); only its argon2id hash is stored."""
    settings = ApiSettings.load()
    with _connect() as conn:
        try:
            new = create_key(
                conn,
                prefix=settings.api_key_prefix,
                name=name,
                role=Role[role.value],
                ttl_days=ttl_days or settings.api_key_ttl_days,
            )
        except ValueError as error:
            raise _fail(str(error)) from None
    _print_new(new.key, new.record)


@keys_app.command("list")
def list_cmd() -> None:
    """List keys (prefix, name, role, status, dates); secrets are never shown."""
    now = utcnow()
    with _connect() as conn:
        records = list_keys(conn)
    rows = [("PREFIX", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES", "LAST USED")]
    rows += [
        (
            r.key_prefix,
            r.name,
            r.role.name,
            r.status(now),
            f"{r.created_at:%Y-%m-%d}",
            f"{r.expires_at:%Y-%m-%d}",
            f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:  # plain aligned columns: never truncated, easy to grep
        out.print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(),
            markup=False,
        )
    for r in expiring_soon(records, now, EXPIRY_WARNING_DAYS):
        err.print(
            f"[yellow]warning:[/] key {r.key_prefix} ({escape(r.name)}) expires "
            f"{r.expires_at:%Y-%m-%d %H:%M} UTC: rotate it with `inferstream keys rotate "
            f"{r.key_prefix}`"
        )


@keys_app.command("revoke")
def revoke_cmd(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (see `list`).")],
) -> None:
    """Revoke a key (effective within the API's key cache TTL, 30 s)."""
    with _connect() as conn:
        try:
            record = revoke_key(conn, prefix)
        except UnknownKeyError as error:
            raise _fail(str(error)) from None
    out.print(f"revoked {record.key_prefix} ({record.name})")


@keys_app.command("rotate")
def rotate_cmd(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (see `list`).")],
    ttl_days: TtlDays = None,
) -> None:
    """Create a replacement with the same name and role and revoke the old key (one transaction)."""
    settings = ApiSettings.load()
    with _connect() as conn:
        try:
            new, old = rotate_key(
                conn,
                prefix,
                prefix=settings.api_key_prefix,
                ttl_days=ttl_days or settings.api_key_ttl_days,
            )
        except UnknownKeyError as error:
            raise _fail(str(error)) from None
    err.print(f"revoked {old.key_prefix}")
    _print_new(new.key, new.record)


def register(app: typer.Typer) -> None:
    app.command("api")(api_cmd)
    app.add_typer(keys_app, name="keys")
