"""Read submissions from JSON-lines or CSV files and validate every one (pure, no broker).

A JSON line is either a bare payload object, or ``{"submission_id"?, "payload", "tenant"?,
"source"?, "blob"?}``. A CSV file has a header row of payload field names (plus an optional
``submission_id`` column); a cell that starts with ``[`` or ``{`` is parsed as JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from inferstream.schemas import Envelope, build_envelope, format_validation_error

Format = Literal["jsonl", "csv"]
ENVELOPE_KEYS = frozenset({"submission_id", "payload", "tenant", "source", "blob"})


@dataclass(frozen=True)
class Invalid:
    line: int
    field: str
    message: str

    def render(self, source: str) -> str:
        return f"{source}:{self.line}: {self.field}: {self.message}"


@dataclass
class ParsedRecords:
    valid: list[tuple[int, Envelope[Any]]] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({item.line for item in self.invalid})


def guess_format(name: str) -> Format:
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def parse_records(
    text: Iterable[str], task: str, fmt: Format, *, source: str = "cli"
) -> ParsedRecords:
    """Validate every record; duplicates of a submission_id in one file are invalid too."""
    result = ParsedRecords()
    seen: dict[str, int] = {}
    rows = _jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text)
    for line, row in rows:
        if isinstance(row, Invalid):
            result.invalid.append(row)
            continue
        envelope = _to_envelope(line, row, task, source, result)
        if envelope is None:
            continue
        first = seen.setdefault(envelope.submission_id, line)
        if first != line:
            result.invalid.append(
                Invalid(line, "submission_id", f"duplicate of line {first} in this file")
            )
            continue
        result.valid.append((line, envelope))
    return result


def _jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | Invalid]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            # The position within this line (the file's line is the number): orjson's own
            # "line 2 column 1" counts the line's newline, beside a file line that is not 2.
            column = min(err.pos, len(raw.rstrip("\r\n"))) + 1
            yield number, Invalid(number, "(line)", f"not valid JSON: {err.msg} at column {column}")
            continue
        if not isinstance(value, dict):
            kind = type(value).__name__
            yield number, Invalid(number, "(line)", f"expected a JSON object, got {kind}")
            continue
        yield number, value


def _csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | Invalid]]:
    reader = csv.DictReader(io.StringIO("".join(lines)))
    for row in reader:
        number = reader.line_num
        if None in row:
            yield number, Invalid(number, "(row)", "more cells than header columns")
            continue
        yield number, {key: _cell(value) for key, value in row.items() if value not in ("", None)}


def _cell(value: str | None) -> Any:
    text = (value or "").strip()
    if text[:1] in ("[", "{"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return value
    return value


def _to_envelope(
    line: int, row: dict[str, Any], task: str, source: str, result: ParsedRecords
) -> Envelope[Any] | None:
    if "payload" in row:
        unknown = sorted(set(row) - ENVELOPE_KEYS)
        if unknown:
            for key in unknown:
                result.invalid.append(Invalid(line, key, "unknown envelope field"))
            return None
        payload, options = row["payload"], {k: v for k, v in row.items() if k != "payload"}
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            result.invalid.append(Invalid(line, "payload", f"expected a JSON object, got {kind}"))
            return None
    else:
        options = {"submission_id": row.pop("submission_id")} if "submission_id" in row else {}
        payload = row
    try:
        return build_envelope(
            task,
            payload,
            submission_id=options.get("submission_id"),
            source=str(options.get("source", source)),
            tenant=str(options.get("tenant", "default")),
            blob=options.get("blob"),
        )
    except ValidationError as err:
        for where, message in format_validation_error(err):
            result.invalid.append(Invalid(line, where, message))
        return None
