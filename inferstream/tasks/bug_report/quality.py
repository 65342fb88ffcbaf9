"""Seed 001 quality gate, as pure rules.

Seed values: MIN_DESCRIPTION_LENGTH=20, REQUIRE_REPRO_STEPS=True, REQUIRE_LOGS=False,
MIN_QUALITY_SCORE=0.6. A report starts at 1.0; each failed rule lowers the score and adds
its flag. A score below the minimum marks the report ``low_quality``: it is kept and
processed (dedup still runs), never rejected for quality alone.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from inferstream.schemas import BugReportPayload

_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class QualityPolicy:
    min_description_length: int = 20
    require_steps: bool = True
    require_logs: bool = False
    min_score: float = 0.6
    min_title_length: int = 10


# flag -> how much it lowers the score
PENALTIES: dict[str, float] = {
    "description_too_short": 0.4,
    "missing_steps_to_reproduce": 0.3,
    "missing_logs": 0.2,
    "title_too_short": 0.1,
}


@dataclass(frozen=True)
class QualityVerdict:
    score: float
    flags: tuple[str, ...]
    low_quality: bool


def normalise(text: str) -> str:
    """NFC, no control characters, runs of spaces collapsed, at most one blank line."""
    if text.isascii() and text.isprintable():
        # Most fields (a title, a one-line description): printable ASCII is its own NFC and
        # holds no line break or control character, and its only whitespace is the space, so
        # normalising it is collapsing runs of spaces and stripping the ends; the general path
        # below costs ~3x as much for the same answer.
        return " ".join(text.split())
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    # Category C (control, format, surrogate, private, unassigned) is never printable, so a
    # text whose other characters all are has none to drop: one C-level check instead of a
    # category lookup per character (which was ~60 % of the enrich stage's CPU).
    if not text.replace("\n", "").replace("\t", "").isprintable():
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    # Each line's runs of other whitespace made one space and its ends stripped by str.split
    # and join, which split on the whitespace the regex's \s matches (Py_UNICODE_ISSPACE):
    # the regex engine's sub per field was half of normalise's CPU.
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


TextField = Literal["title", "description", "steps_to_reproduce", "logs"]


class NormalisedFields:
    """One report's text fields, each normalised once, on first use: enrich reads the title and
    the description three times (the emptiness check, the canonical text, the quality rules),
    and normalising was the largest part of its CPU."""

    __slots__ = ("_payload", "_texts")

    def __init__(self, payload: BugReportPayload) -> None:
        self._payload = payload
        self._texts: dict[str, str] = {}

    def __call__(self, field: TextField) -> str:
        text = self._texts.get(field)
        if text is None:
            text = self._texts[field] = normalise(getattr(self._payload, field))
        return text


def assess(
    payload: BugReportPayload,
    policy: QualityPolicy | None = None,
    fields: NormalisedFields | None = None,
) -> QualityVerdict:
    policy = policy or QualityPolicy()
    text = fields or NormalisedFields(payload)
    flags: list[str] = []
    if len(text("description")) < policy.min_description_length:
        flags.append("description_too_short")
    if policy.require_steps and not text("steps_to_reproduce"):
        flags.append("missing_steps_to_reproduce")
    if policy.require_logs and not text("logs"):
        flags.append("missing_logs")
    if len(text("title")) < policy.min_title_length:
        flags.append("title_too_short")
    return _verdict(tuple(flags), policy.min_score)


@cache
def _verdict(flags: tuple[str, ...], min_score: float) -> QualityVerdict:
    """The verdict of a set of failed rules, built once per combination (a handful occur):
    the sum, the rounding and the frozen dataclass were most of ``assess``'s CPU."""
    score = round(max(0.0, 1.0 - sum(PENALTIES[flag] for flag in flags)), 4)
    return QualityVerdict(score, flags, score < min_score)


def canonical_text(payload: BugReportPayload, fields: NormalisedFields | None = None) -> str:
    """The text that is embedded and hashed: title, description and steps, normalised."""
    text = fields or NormalisedFields(payload)
    parts = (text("title"), text("description"), text("steps_to_reproduce"))
    return "\n".join(part for part in parts if part)


def content_sha256(text: str) -> str:
    """Hash of the canonical text, case-folded so trivial re-posts hash alike."""
    return hashlib.sha256(text.casefold().encode()).hexdigest()
