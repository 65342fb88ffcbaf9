"""`inferstream models register|list|promote|rollback|pin|diff`: the model registry's CLI.

Every refusal (a bad bundle, an unknown version, a pinned alias, a missing migration) is one
line on stderr and exit 2; the registry's Python API (inferstream.models.registry) does the work.
It is imported inside each command: it loads ONNX Runtime (for the smoke inference), which no
other command, and no worker's CLI start, should pay for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console

console = Console(soft_wrap=True)
AliasOpt = Annotated[str, typer.Option("--alias", help="production, canary or shadow.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the alias history).")]


@contextmanager
def _refusals() -> Iterator[None]:
    from inferstream.models import registry

    try:
        yield
    except (registry.BadBundleError, registry.RegistryError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as err:
        typer.echo(f"error: {err.diag.message_primary}: run `inferstream db migrate`", err=True)
        raise typer.Exit(2) from None


def register_cmd(
    bundle_dir: Annotated[Path, typer.Argument(help="A bundle directory (models train's output).")],
) -> None:
    """Check a bundle (checksums, load, smoke inference), upload it and record its version."""
    from inferstream.models import registry

    with _refusals():
        bundle, new = registry.register(bundle_dir)
    state = "registered" if new else "already registered (same bytes)"
    console.print(f"{bundle.name}/{bundle.version} {state}", highlight=False)


def list_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model (and its history).")] = None,
    history: Annotated[int, typer.Option(help="Alias moves to show (with NAME).")] = 10,
) -> None:
    """Registered versions with the aliases naming them; with NAME, the alias history too."""
    from inferstream.models import registry

    with _refusals():
        versions = registry.list_versions(name)
        names = sorted({v.name for v in versions})
        aliases = {n: registry.get_aliases(n) for n in names}
        moves = registry.history(name, limit=history) if name else []
    for v in versions:
        marks = [
            f"{a.alias}{' (pinned)' if a.pinned else ''}"
            + (f" {a.fraction:.0%}" if a.fraction is not None else "")
            for a in aliases[v.name].values()
            if a.version == v.version
        ]
        auc = v.metadata.get("metrics_held_out", {}).get("roc_auc", "-")
        console.print(
            f"{v.name:<24} {v.version:<14} {v.created_at:%Y-%m-%d %H:%M:%S} "
            f"auc={auc} {', '.join(sorted(marks))}",
            highlight=False,
        )
    if not versions:
        console.print("no registered versions", highlight=False)
    for m in moves:
        console.print(
            f"  {m.at:%Y-%m-%d %H:%M:%S} {m.alias:<10} {m.action:<8} "
            f"{m.previous_version or '-'} -> {m.version or '-'} by {m.actor}"
            + (f": {m.reason}" if m.reason else ""),
            highlight=False,
        )


def promote_cmd(
    name: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    alias: AliasOpt = "production",
    fraction: Annotated[
        float | None,
        typer.Option(
            min=0.001, max=1.0, help="Canary only: the share of keys it serves (default 0.10)."
        ),
    ] = None,
    reason: ReasonOpt = "",
) -> None:
    """Point an alias at a version (the infer workers switch to it between batches)."""
    from inferstream.models import registry

    with _refusals():
        before = registry.promote(name, version, alias, reason=reason, fraction=fraction)
    console.print(f"{name} {alias}: {before or '-'} -> {version}", highlight=False)


def rollback_cmd(
    name: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; kept in history).")],
    alias: AliasOpt = "production",
) -> None:
    """Move an alias back to the version it named before (a canary without one is cleared)."""
    from inferstream.models import registry

    with _refusals():
        now = registry.rollback(name, alias, reason)
    console.print(f"{name} {alias} rolled back to {now or '(cleared)'}", highlight=False)


def pin_cmd(
    name: Annotated[str, typer.Argument()],
    version: Annotated[str | None, typer.Argument(help="Default: where the alias is.")] = None,
    alias: AliasOpt = "production",
    off: Annotated[bool, typer.Option("--off", help="Unpin.")] = False,
    reason: ReasonOpt = "",
) -> None:
    """Pin an alias so that neither promote nor an automatic rollback moves it."""
    from inferstream.models import registry

    with _refusals():
        registry.pin(name, alias, version, off=off, reason=reason)
    console.print(f"{name} {alias} {'unpinned' if off else 'pinned'}", highlight=False)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}{key}.")
    else:
        text = json.dumps(value, sort_keys=True)
        yield prefix.rstrip("."), text if len(text) <= 60 else f"<{len(text)} chars>"


def diff_cmd(
    name: Annotated[str, typer.Argument()],
    old: Annotated[str, typer.Argument()],
    new: Annotated[str, typer.Argument()],
) -> None:
    """What differs between two versions: metadata (metrics, thresholds) and file checksums."""
    from inferstream.models import registry

    with _refusals():
        rows = {v.version: v for v in registry.list_versions(name)}
        for version in (old, new):
            if version not in rows:
                raise registry.RegistryError(f"{name}/{version} is not registered")
    a = dict(_flatten({"metadata": rows[old].metadata, "files": rows[old].files}))
    b = dict(_flatten({"metadata": rows[new].metadata, "files": rows[new].files}))
    changed = [k for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
    for key in changed:
        console.print(f"{key}: {a.get(key, '-')} -> {b.get(key, '-')}", highlight=False)
    console.print(f"{len(changed)} of {len(a.keys() | b.keys())} fields differ", highlight=False)


COMMANDS: dict[str, Callable[..., None]] = {
    "register": register_cmd,
    "list": list_cmd,
    "promote": promote_cmd,
    "rollback": rollback_cmd,
    "pin": pin_cmd,
    "diff": diff_cmd,
}


def add_commands(app: typer.Typer) -> None:
    from inferstream.cli.models_shadow_cmd import backfill_cmd, compare_cmd, shadow_cmd

    for name, command in COMMANDS.items():
        app.command(name)(command)
    app.command("shadow")(shadow_cmd)
    app.command("compare")(compare_cmd)
    app.command("backfill")(backfill_cmd)
