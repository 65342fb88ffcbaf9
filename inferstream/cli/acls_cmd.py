"""`inferstream topology acls`: print the Kafka ACLs the topology needs, or apply them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from inferstream.settings import KafkaSettings, TopologySettings
from inferstream.settings.worker import WorkerSettings
from inferstream.topology.acl_admin import AclError, create, present
from inferstream.topology.acls import (
    DEFAULT_API_PRINCIPAL,
    DEFAULT_WORKER_PRINCIPAL,
    desired_acls,
    missing,
)
from inferstream.topology.admin import admin_client

console = Console(soft_wrap=True)


def acls_cmd(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Create the missing bindings on the cluster (without it: print them, "
            "no broker contacted).",
        ),
    ] = False,
    worker: Annotated[
        str, typer.Option("--worker-principal", help="The workers' principal (User:<name>).")
    ] = DEFAULT_WORKER_PRINCIPAL,
    api: Annotated[
        str, typer.Option("--api-principal", help="The results API's principal (User:<name>).")
    ] = DEFAULT_API_PRINCIPAL,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin-principal",
            help="The principal this command runs as, kept able to change ACLs "
            "(default with --apply: the workers' principal).",
        ),
    ] = None,
) -> None:
    """Kafka ACLs of the workers and the results API (idempotent: a second --apply creates
    nothing). Bindings on the cluster beyond this set are never removed."""
    keeper = admin or (worker if apply else None)
    prefix = WorkerSettings.load().group_prefix
    try:
        wanted = desired_acls(worker, api, group_prefix=prefix, admin=keeper)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    if not apply:
        for acl in wanted:
            console.print(acl.describe(), highlight=False)
        return
    if TopologySettings.load().environment == "embedded":
        # Measured on Tansu: DescribeAcls answers empty, and its CreateAcls reply fails
        # librdkafka's parser, which aborts the process (docs/security.md).
        typer.echo(
            "error: the embedded broker (Tansu) enforces no ACLs; nothing to apply", err=True
        )
        raise typer.Exit(2)
    client = admin_client(KafkaSettings.load())
    try:
        principals = sorted({worker, api, *([keeper] if keeper else [])})
        todo = missing(wanted, present(client, principals))
    except AclError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    if not todo:
        console.print(f"ACLs are up to date ({len(wanted)} bindings)")
        return
    failed = 0
    for acl, error in create(client, todo):
        if error is None:
            console.print(f"[green]created[/] {acl.describe()}", highlight=False)
        else:
            failed += 1
            console.print(f"[red]failed[/]  {acl.describe()}: {error}", highlight=False)
    if failed:
        raise typer.Exit(1)
