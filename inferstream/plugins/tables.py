"""Results tables: each declared once (``columns.py``), and everything else derived from it.

A :class:`ResultTable` lists its columns with their Postgres types and the result field each
holds. The sink's row (:meth:`ResultTable.row`), the infer worker's history read
(:meth:`ResultTable.fields_of`), the API's bug_report mapping and a migration test (the live
table has exactly these columns and types) all derive from that one declaration.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """One column: its name, Postgres type and the result field it stores (default: the same
    name; None for ``submitted_at``, which comes from the record's header, not the result)."""

    name: str
    pg_type: str
    result_field: str | None = ""

    @property
    def source(self) -> str | None:
        return self.name if self.result_field == "" else self.result_field


def _datetime(value: Any) -> Any:
    # Decoded JSON holds ISO strings; binary COPY of timestamptz needs datetimes.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _jsonb(value: Any) -> Any:
    return None if value is None else Jsonb(value)


def _vector(value: Any) -> Any:
    """A float32 array of a result's embedding: a version 2 result's is one already (decoded
    from ``embedding_b64`` by ``decode_result_fields``) and is taken as it is; a version 1
    JSON list of numbers is packed as float64s by one C-level ``struct`` call and cast:
    ~2.3 us a 384-float row less than numpy's conversion of a list of Python floats, the same
    float32s (both round each double to nearest). Anything the pack refuses (a string, a
    nested list, None, an int past float64) goes to numpy as before, so its values and its
    errors stay the same."""
    if value is None:
        return None
    if type(value) is list:
        try:
            packed = _doubles(len(value)).pack(*value)
        except (struct.error, OverflowError):
            pass
        else:
            return np.frombuffer(packed).astype(np.float32)
    return np.asarray(value, dtype=np.float32)


@lru_cache(maxsize=8)
def _doubles(count: int) -> struct.Struct:
    """The ``struct`` of ``count`` native doubles (one per vector length in use)."""
    return struct.Struct(f"{count}d")


# How a result field's JSON value becomes what binary COPY wants for the column's type.
_TO_COLUMN: dict[str, Convert] = {
    "timestamptz": _datetime,
    "float4": _float,
    "float8": _float,
    "jsonb": _jsonb,
    "vector": _vector,
}

# Every results table starts and ends with these columns (the contract the sink, verify and
# the results API rely on); a task declares only its own columns between them.
HEAD = (
    Column("result_id", "text"),
    Column("submission_id", "text"),
    Column("model_name", "text"),
    Column("model_version", "text"),
)
TAIL = (Column("produced_at", "timestamptz"), Column("submitted_at", "timestamptz", None))


@dataclass(frozen=True)
class ResultTable:
    """Where the sink writes a task's results: table, columns and their Postgres types."""

    name: str
    own: tuple[Column, ...]
    all_columns: tuple[Column, ...] = field(init=False)
    # row()'s plan: every column's result field, then the few columns whose value is converted
    # and where submitted_at goes (the rest are stored as decoded).
    _sources: tuple[str, ...] = field(init=False, repr=False)
    _converts: tuple[tuple[int, Convert], ...] = field(init=False, repr=False)
    _submitted: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        columns = (*HEAD, *self.own, *TAIL)
        object.__setattr__(self, "all_columns", columns)
        object.__setattr__(self, "_sources", tuple(c.source or "" for c in columns))
        converts = tuple(
            (i, _TO_COLUMN[c.pg_type])
            for i, c in enumerate(columns)
            if c.source is not None and c.pg_type in _TO_COLUMN
        )
        object.__setattr__(self, "_converts", converts)
        submitted = tuple(i for i, c in enumerate(columns) if c.source is None)
        object.__setattr__(self, "_submitted", submitted)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(c.pg_type for c in self.all_columns)

    def row(self, result: Mapping[str, Any], submitted_at: datetime | None) -> tuple[Any, ...]:
        """The table row of a result's plain fields, in ``columns`` order (a missing optional
        field is NULL). The fields are looked up in one C-level map; only the columns whose
        type needs it are converted in Python (5 of bug_report's 24)."""
        values = list(map(result.get, self._sources))
        for index, convert in self._converts:
            values[index] = convert(values[index])
        for index in self._submitted:
            values[index] = submitted_at
        return tuple(values)

    def stored(self) -> tuple[Column, ...]:
        """The columns that hold a result field (all but ``submitted_at``)."""
        return tuple(c for c in self.all_columns if c.source is not None)

    def fields_of(self, row: Sequence[Any], columns: Sequence[Column]) -> dict[str, Any]:
        """The result fields of a row read back as ``SELECT <columns>``."""
        return {c.source: v for c, v in zip(columns, row, strict=True) if c.source is not None}


def result_table(name: str, own: Sequence[Column | tuple[str, str]]) -> ResultTable:
    """A results table: the contract's common columns around the task's own."""
    return ResultTable(name, tuple(c if isinstance(c, Column) else Column(*c) for c in own))
