"""`inferstream db grant-api ROLE`: the results API's least-privilege Postgres role (grants in
inferstream/storage/api_role.py). Run by the table owner after `db migrate` on every release
(the prod migrate Job does); the role itself is created by the deployment's bootstrap step."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from inferstream.cli.ops import db_app
from inferstream.settings import PostgresSettings
from inferstream.storage.api_role import grant_api_role

console = Console(soft_wrap=True)


def grant_api_cmd(
    role: Annotated[str, typer.Argument(help="The API's login role (e.g. inferstream_api).")],
) -> None:
    """Grant the API's role SELECT on what the API reads and INSERT/UPDATE/DELETE only on what
    it writes (submissions, keys, sessions, rate-limit counters, reviews); revoke the rest."""
    try:
        statements = grant_api_role(PostgresSettings.load().conninfo(), role)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    for statement in statements:
        console.print(statement, highlight=False)


def register(app: typer.Typer) -> None:
    # A `db` subcommand: attached to the db group that ops registers on the app.
    db_app.command("grant-api")(grant_api_cmd)
