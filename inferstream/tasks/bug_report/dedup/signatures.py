"""Error signatures of a bug report (pure): the exception types, error codes, stack frames,
versions and platforms its text and logs name. Two reports that share an exception type, an
error code or a stack frame very likely describe the same failure; two that both name such
things but share none are evidence of a near miss (same area, different bug).

A signature is a set of short strings, each ``kind:value`` (``exc:illegalstateexception``,
``code:e204``, ``frame:reader.go:141``, ``ver:5.14.2``, ``plat:android``), at most
``MAX_ITEMS`` per report, so it is cheap to keep per indexed report and to store with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ITEMS = 48
STRONG = ("exc", "code", "frame")  # kinds that identify a failure
CONTEXT = ("ver", "plat")  # kinds that place it

_EXCEPTION = re.compile(
    r"\b([A-Z][A-Za-z0-9]*(?:Exception|Error|Panic|Fault)|panic|segfault|SIG[A-Z]{3,6})\b"
)
_CODES = (
    re.compile(r"\b(E[A-Z]{3,}[A-Z0-9]*)\b"),  # errno names: ENOSPC, EINVAL
    re.compile(r"\b([A-Z]{2,}_[A-Z0-9_]{4,})\b"),  # VK_ERROR_OUT_OF_DATE_KHR, REFUSED_STREAM
    re.compile(r"\b(?:E|ERR|error|code|status)[-_ ]?(\d{3,5})\b", re.IGNORECASE),
    re.compile(r"\b(0x[0-9a-fA-F]{6,})\b"),
    re.compile(r"\b(\d{3}) (?:Payload|Forbidden|Unauthorized|Not Found|Bad Request|Too)"),
)
_FRAME = re.compile(
    r"\b([A-Za-z_][\w-]*\.(?:py|go|rs|java|kt|cpp|cc|c|h|hpp|js|ts|cs|swift|m|rb|php))"
    r"\"?(?::|\(|,\s*line\s+|\s+line\s+)(\d+)"
)
_VERSION = re.compile(r"(?<![\w.])v?(\d+\.\d+(?:\.\d+)+)(?![\w.])")
_PLATFORMS = {
    "android": "android",
    "ios": "ios",
    "iphone": "ios",
    "ipad": "ios",
    "ipados": "ios",
    "windows": "windows",
    "macos": "macos",
    "mac": "macos",
    "linux": "linux",
    "ubuntu": "linux",
    "chrome": "chrome",
    "firefox": "firefox",
    "safari": "safari",
}
_WORD = re.compile(r"[A-Za-z]+")
# Capitalised words the errno pattern would take for codes.
_NOT_CODES = frozenset({"ERROR", "ERRORS", "EXCEPTION", "EVENT", "EVERY", "EMPTY", "ENTER", "EXIT"})


def signature(*texts: str) -> frozenset[str]:
    """The signature of a report's texts (title, description, steps, logs)."""
    items: set[str] = set()
    for text in texts:
        if not text:
            continue
        items.update(f"exc:{m.lower()}" for m in _EXCEPTION.findall(text))
        for pattern in _CODES:
            items.update(
                f"code:{m.lower().replace('-', '')}"
                for m in pattern.findall(text)
                if m.upper() not in _NOT_CODES
            )
        items.update(f"frame:{name.lower()}:{line}" for name, line in _FRAME.findall(text))
        items.update(f"ver:{m}" for m in _VERSION.findall(text))
        items.update(
            f"plat:{_PLATFORMS[w]}" for w in map(str.lower, _WORD.findall(text)) if w in _PLATFORMS
        )
    return frozenset(sorted(items)[:MAX_ITEMS])


def _of(items: Iterable[str], kinds: tuple[str, ...]) -> set[str]:
    return {i for i in items if i.split(":", 1)[0] in kinds}


def agreement(a: frozenset[str], b: frozenset[str]) -> tuple[float, float, float]:
    """(strong shared, strong conflict, context conflict) of two signatures, each 0 or 1:
    they share an exception, code or frame; both name some and share none; both name a
    platform or version and share none of those."""
    if not a or not b:
        return 0.0, 0.0, 0.0
    sa, sb = _of(a, STRONG), _of(b, STRONG)
    shared = bool(sa & sb)
    conflict = bool(sa) and bool(sb) and not shared
    ca, cb = _of(a, CONTEXT), _of(b, CONTEXT)
    context_conflict = bool(ca) and bool(cb) and not (ca & cb)
    return float(shared), float(conflict), float(context_conflict)
