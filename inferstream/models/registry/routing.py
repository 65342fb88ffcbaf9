"""Canary routing: a stable hash of the record's key decides which version serves it.

The share of a key is the first 8 bytes of its BLAKE2b digest read as a fraction of 2**64:
the same key always lands on the same side (in every worker process and after restarts, unlike
Python's salted ``hash``), and keys spread uniformly, so a fraction f of keys goes to the canary.
Raising the fraction only adds keys to the canary: a key served by the canary at 10 % is still
served by it at 20 %.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_SCALE = float(1 << 64)


def key_share(key: str) -> float:
    """The key's position in [0, 1)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def is_canary(key: str, fraction: float) -> bool:
    return key_share(key) < fraction


def split(keys: Sequence[str], fraction: float | None) -> tuple[list[int], list[int]]:
    """Indexes of the keys the main version serves and of those the canary serves."""
    if not fraction:
        return list(range(len(keys))), []
    main: list[int] = []
    canary: list[int] = []
    for i, key in enumerate(keys):
        (canary if key_share(key) < fraction else main).append(i)
    return main, canary
