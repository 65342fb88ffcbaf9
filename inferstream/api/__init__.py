"""The results API: FastAPI over the pipeline's Postgres (never imports the workers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferstream.api.keys import Role

if TYPE_CHECKING:
    from inferstream.api.app import create_app

__all__ = ["Role", "create_app"]


def __getattr__(name: str) -> Any:
    # The app (FastAPI, the web view, the search model) loads on first use: every `inferstream`
    # command, `inferstream worker` included, imports the CLI, whose `keys` commands need only
    # the key store. Importing the app there cost each worker ~1.5 s of CPU at start.
    if name == "create_app":
        from inferstream.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
