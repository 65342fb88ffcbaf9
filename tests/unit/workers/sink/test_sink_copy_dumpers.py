"""The sink's binary COPY dumpers for text[], json and jsonb send Postgres exactly what psycopg's
general dumpers send (or fail the same way), for any value a result's field may hold."""

from __future__ import annotations

from typing import Any, Literal

import orjson
import psycopg
from hypothesis import given
from hypothesis import strategies as st
from psycopg.abc import Dumper
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.pq import Format
from psycopg.types.json import Json, Jsonb, set_json_dumps

from inferstream.workers.sink.writer import register_copy_dumpers

# Any str Postgres can be sent as UTF-8 (lone surrogates cannot be encoded by either dumper).
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_TEXT = st.text(st.characters(blacklist_categories=_SURROGATES), max_size=20)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _adapters(fast: bool) -> AdaptersMap:
    adapters = AdaptersMap(psycopg.adapters)
    set_json_dumps(orjson.dumps, adapters)
    if fast:
        register_copy_dumpers(adapters)
    return adapters


_GENERAL, _FAST = _adapters(False), _adapters(True)


def _dumper(adapters: AdaptersMap, pg_type: str) -> Dumper:
    oid = adapters.types.get_oid(pg_type)
    return adapters.get_dumper_by_oid(oid, Format.BINARY)(type(None), Transformer(adapters))


def _dumped(adapters: AdaptersMap, pg_type: str, value: Any) -> bytes | str:
    try:
        return bytes(_dumper(adapters, pg_type).dump(value) or b"")
    except Exception as err:  # the same failure is part of the same behaviour
        return type(err).__name__


def test_the_fast_dumpers_are_the_ones_copy_finds() -> None:
    assert type(_dumper(_FAST, "text[]")).__name__ == "TextArrayDumper"
    assert type(_dumper(_FAST, "jsonb")).__name__ == "_JsonbDumper"
    assert type(_dumper(_FAST, "json")).__name__ == "_JsonDumper"


@given(st.lists(st.none() | _TEXT, max_size=6))
def test_text_arrays_as_the_general_dumper_sends_them(value: list[str | None]) -> None:
    assert _dumped(_FAST, "text[]", value) == _dumped(_GENERAL, "text[]", value)


@given(
    st.lists(st.lists(_TEXT, min_size=1, max_size=3), min_size=1, max_size=3)
    | st.tuples(_TEXT)
    | st.lists(st.integers() | st.binary(), min_size=1, max_size=3)
)
def test_other_values_go_to_the_general_dumper(value: Any) -> None:
    assert _dumped(_FAST, "text[]", value) == _dumped(_GENERAL, "text[]", value)


@given(_JSON, st.booleans())
def test_jsonb_as_the_general_dumper_sends_it(value: Any, wrapped: bool) -> None:
    obj = Jsonb(value) if wrapped else value
    assert _dumped(_FAST, "jsonb", obj) == _dumped(_GENERAL, "jsonb", obj)


def test_a_jsonb_with_its_own_dumps_keeps_it() -> None:
    obj = Jsonb({"a": 1}, dumps=lambda _: '{"b": 2}')
    assert _dumped(_FAST, "jsonb", obj) == _dumped(_GENERAL, "jsonb", obj) == b'\x01{"b": 2}'


@given(_JSON, st.booleans())
def test_json_as_the_general_dumper_sends_it(value: Any, wrapped: bool) -> None:
    obj = Json(value) if wrapped else value
    assert _dumped(_FAST, "json", obj) == _dumped(_GENERAL, "json", obj)


def test_a_json_with_its_own_dumps_keeps_it() -> None:
    obj = Json({"a": 1}, dumps=lambda _: '{"b": 2}')
    assert _dumped(_FAST, "json", obj) == _dumped(_GENERAL, "json", obj) == b'{"b": 2}'
