"""The free space of the embedded stack's data dir: how much is enough to run on, and how it is
said when it is not.

On a nearly full disk every embedded server fails in its own words: SeaweedFS answers 500
InternalError to PUTs (its volume server marks every volume read-only below 1 % free, the
``-minFreeSpace`` default, and ``weed mini`` allocates no new volume without room for one: "No
writable volumes and no free volumes left" in its log), so the archive's files and Tansu's s3://
storage stall, and Postgres fails its writes on "No space left on device". None names the
disk. So `inferstream up` refuses to start below the refusal mark and warns below twice it,
`inferstream status` shows the figures, and the object store's server errors add them while
they are low.

The refusal mark is the larger of two of the stack's settings (``settings/stack.py``:
``INFERSTREAM_STACK_MIN_FREE_MIB`` and ``_PERCENT``). Kept outside ``inferstream.stack``
because the object store (storage, which must not import the stack) reads them on its error
path. The checks are pure functions over a
``DiskUsage``; ``read_usage`` is the one I/O edge.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inferstream.settings import STACK_FILE, data_dir
from inferstream.settings.stack import STACK_ENV_PREFIX, StackSettings, load_stack_settings

MIB = 1024 * 1024
# `up` warns, and `status` and the error notes say "low", below this many times the refusal
# mark: room for a day's work is gone long before the servers fail.
WARN_FACTOR = 2
MIN_FREE_MIB_ENV = f"{STACK_ENV_PREFIX}MIN_FREE_MIB"
MIN_FREE_PERCENT_ENV = f"{STACK_ENV_PREFIX}MIN_FREE_PERCENT"

Level = Literal["ok", "low", "too low"]


@dataclass(frozen=True)
class DiskUsage:
    total: int
    free: int  # available to this user (root's reserved blocks excluded)

    @property
    def percent_free(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0


@dataclass(frozen=True)
class FreeSpace:
    """One reading of a path's filesystem against the marks."""

    path: Path
    usage: DiskUsage
    settings: StackSettings
    refuse_below: int  # bytes
    level: Level

    def figures(self) -> str:
        usage = self.usage
        return (
            f"{size(usage.free)} free of {size(usage.total)} ({usage.percent_free:.1f} %) "
            f"on the filesystem of {self.path}"
        )

    def refusal(self) -> str:
        return (
            f"not enough free disk space for the embedded stack: {self.figures()}; it needs at "
            f"least {size(self.refuse_below)}, the larger of {MIN_FREE_MIB_ENV}="
            f"{self.settings.min_free_mib} and {MIN_FREE_PERCENT_ENV}="
            f"{self.settings.min_free_percent:g} % of the disk: free some space, or point "
            "INFERSTREAM_DATA_DIR at a larger disk"
        )

    def warning(self) -> str:
        return (
            f"low disk space: {self.figures()}; `inferstream up` refuses below "
            f"{size(self.refuse_below)}, and SeaweedFS stops taking writes below 1 % free"
        )


def refuse_below(total: int, min_free_mib: int, min_free_percent: float) -> int:
    """The refusal mark in bytes for a filesystem of ``total`` bytes."""
    return max(min_free_mib * MIB, int(total * min_free_percent / 100.0))


def level_of(usage: DiskUsage, mark: int) -> Level:
    if usage.free < mark:
        return "too low"
    if usage.free < WARN_FACTOR * mark:
        return "low"
    return "ok"


def assess(path: Path, usage: DiskUsage, settings: StackSettings) -> FreeSpace:
    mark = refuse_below(usage.total, settings.min_free_mib, settings.min_free_percent)
    return FreeSpace(path, usage, settings, mark, level_of(usage, mark))


def size(count: int) -> str:
    """Bytes as people read them: 812 MiB, 3.4 GiB, 1.8 TiB."""
    if count < 1024 * MIB:
        return f"{count / MIB:.0f} MiB"
    gib = count / (1024 * MIB)
    return f"{gib:.1f} GiB" if gib < 1024 else f"{gib / 1024:.1f} TiB"


def read_usage(path: Path) -> DiskUsage:
    """The one I/O edge: the filesystem of ``path`` (or of its nearest existing parent: the
    data dir of a first `up` does not exist yet)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return DiskUsage(total=usage.total, free=usage.free)


def check(path: Path) -> FreeSpace:
    """Read ``path``'s filesystem and assess it with the settings (a bad one: SettingsError)."""
    return assess(path, read_usage(path), load_stack_settings())


def note_if_low() -> str:
    """For error paths only (a statfs and the settings per call): where an embedded stack runs
    from the data dir (its stack.toml is there) and the data dir's filesystem is low, a clause
    naming it; else "". Never raises: it must not hide the error it annotates."""
    root = data_dir()
    try:
        if not (root / STACK_FILE).is_file():
            return ""
        reading = check(root)
    except (OSError, ValueError):
        return ""
    if reading.level == "ok":
        return ""
    return f" (the disk is nearly full: {reading.figures()})"
