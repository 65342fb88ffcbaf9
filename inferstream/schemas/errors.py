"""Turning pydantic validation errors into ``(field path, message)`` lines."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

__all__ = ["format_loc", "format_validation_error"]

ROOT = "(root)"


def format_loc(loc: Sequence[int | str]) -> str:
    """``("payload", "window", 3, "timestamp")`` -> ``"payload.window[3].timestamp"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or ROOT


def format_validation_error(err: ValidationError) -> list[tuple[str, str]]:
    """One ``(dotted field path, human message)`` per error; the path is ``"(root)"`` for
    model-level errors. Messages of ``ValueError``\\s raised by our validators lose pydantic's
    ``"Value error, "`` prefix."""
    lines: list[tuple[str, str]] = []
    for e in err.errors(include_url=False):
        msg = e["msg"]
        if e["type"] == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append((format_loc(e["loc"]), msg))
    return lines
