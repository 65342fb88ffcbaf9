"""Trusted decoding and bulk encoding of wire models, off the pydantic validation path.

Enrich validates every submission against the contract once; what it writes (and what infer
writes from its own model output) is trusted by the later stages. Re-validating it cost three
pydantic validations per record in infer and one in the sink (docs/benchmarks.md, "hot-path
codec"). Here a model is built with ``model_construct`` from the decoded JSON, nested models
included, after a cheap structural check (a dict, every required field, no unknown field), so a
malformed message still fails with :class:`DecodeError` instead of producing a broken object.
Values are NOT range-checked: use ``model_validate`` on untrusted input.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import orjson
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from .codec import DecodeError

__all__ = ["construct", "decode_trusted", "encode_fast", "encode_many", "trusted"]

M = TypeVar("M", bound=BaseModel)
Convert = Callable[[Any], Any]
# UTC as "Z" like pydantic's JSON mode; numpy scalars and arrays serialised natively.
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY


def _identity(value: Any) -> Any:
    return value


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    return datetime.fromisoformat(value)


def _float(value: Any) -> float:
    # A JSON number without a fraction decodes as int, a model gives numpy scalars; the
    # validated model holds a float. A float as it is first, and a tuple for isinstance: one
    # of a union type (str | bytes | bool) cost ~0.4 us per call.
    if type(value) is float:
        return value
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _optional(inner: Convert) -> Convert:
    return lambda value: None if value is None else inner(value)


def _list_of(inner: Convert) -> Convert:
    def convert(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return [inner(v) for v in value]

    return convert


def _dict_of(inner: Convert) -> Convert:
    def convert(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return {k: inner(v) for k, v in value.items()}

    return convert


def _converter(annotation: Any, element: bool = False) -> Convert:
    """What turns the JSON value of a field of this type into the validated model's value.
    Identity wherever JSON already gives the same Python value (str, int, bool, Literal) and for
    the floats inside containers (``element``): the stages write floats as floats, and a float()
    per element of a 384-float embedding would cost more than the rest of the decode."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _converter(get_args(annotation)[0], element)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        inner = _converter(args[0], element) if len(args) == 1 else _identity
        if inner is _identity:
            return _identity
        return _optional(inner) if len(args) < len(get_args(annotation)) else inner
    if origin is list:
        item = _converter(get_args(annotation)[0], element=True)
        return _identity if item is _identity else _list_of(item)
    if origin is dict:
        value = _converter(get_args(annotation)[1], element=True)
        return _identity if value is _identity else _dict_of(value)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        model: type[BaseModel] = annotation
        return lambda data: data if isinstance(data, model) else construct(model, data)
    if annotation is datetime or annotation is AwareDatetime:
        return _datetime
    if annotation is float and not element:
        return _float
    return _identity


@dataclass(frozen=True)
class _Plan:
    converters: dict[str, Convert]  # only the fields whose converter is not identity
    required: frozenset[str]
    known: frozenset[str]
    optional: tuple[tuple[str, FieldInfo], ...]  # filled with their default when absent
    direct: bool  # no private attributes or post-init: instances can be set up directly


@cache
def _plan(model: type[BaseModel]) -> _Plan:
    converters: dict[str, Convert] = {}
    for name, info in model.model_fields.items():
        convert = _converter(info.annotation)
        if convert is not _identity:
            converters[name] = convert
    fields = model.model_fields
    return _Plan(
        converters,
        frozenset(n for n, i in fields.items() if i.is_required()),
        frozenset(fields),
        tuple((n, i) for n, i in fields.items() if not i.is_required()),
        not model.__private_attributes__ and not model.__pydantic_post_init__,
    )


def _instance(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """What ``model_construct`` builds, set up directly: its generic loop over fields, aliases
    and defaults cost as much as validating (docs/benchmarks.md, "hot-path codec")."""
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def construct(model: type[M], data: Any) -> M:
    """``model`` built without validation from decoded JSON or from plain values (nested
    models as dicts or instances): the structure is checked, not the values (see module)."""
    if not isinstance(data, dict):
        raise DecodeError(f"{model.__name__}: expected an object, got {type(data).__name__}")
    plan = _plan(model)
    keys = data.keys()
    every = keys == plan.known  # what the stages write: every field, so nothing to fill in
    if not every and not plan.required <= keys:
        raise DecodeError(f"{model.__name__}: missing {sorted(plan.required - keys)}")
    if not every and not keys <= plan.known:
        raise DecodeError(f"{model.__name__}: unknown fields {sorted(keys - plan.known)}")
    values = dict(data)
    try:
        for name, convert in plan.converters.items():
            if name in values:
                values[name] = convert(values[name])
    except (TypeError, ValueError) as err:
        raise DecodeError(f"{model.__name__}.{name}: {err}") from None
    if not plan.direct:
        return model.model_construct(**values)
    # Every field: a set copied from the plan's frozenset (no hashing), half of set(keys).
    fields_set = set(plan.known if every else keys)
    if not every:
        for name, info in plan.optional:
            if name not in values:
                values[name] = info.get_default(call_default_factory=True)
    return _instance(model, values, fields_set)


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """``model`` holding ``values`` as they are, in their order: a value for every field, of
    the field's type and within its bounds, computed by the caller from validated input (a
    plug-in's enrichment). What validation would build, without checking it: the caller's
    tests validate what it builds."""
    return _instance(model, values, set(values))


def decode_trusted(model: type[M], data: bytes | bytearray | memoryview | str) -> M:
    """Parse JSON written by an earlier stage and :func:`construct` ``model`` from it."""
    try:
        loaded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"malformed JSON: {exc}") from None
    return construct(model, loaded)


def _fields(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.__dict__  # fields only: no aliases or custom serialisers in the contract
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode_fast(value: object) -> bytes:
    """The JSON bytes of a model (or of plain structures holding models), equal in content to
    :func:`~.codec.encode` (the same keys and values; datetimes in UTC as ``Z``), without
    ``model_dump``."""
    return orjson.dumps(value, default=_fields, option=_OPTIONS)


def encode_many(models: Sequence[BaseModel]) -> list[bytes]:
    return [orjson.dumps(m, default=_fields, option=_OPTIONS) for m in models]
