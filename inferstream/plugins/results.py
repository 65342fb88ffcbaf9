"""Results as plain structures: built by the inferers, encoded in bulk, decoded by the sink.

A result on the hot path is a dict of the result model's fields (``ResultFields``), never a
pydantic object: building one per record and dumping it cost more than the JSON itself
(docs/benchmarks.md, "Batch-native plug-ins"). The pydantic result models stay the contract:
the JSON Schema export and the API use them, and a hypothesis test checks that what
:func:`encode_results` writes validates against them and means the same.

Values may be what orjson writes natively: str, int, float, bool, None, lists, dicts, aware
datetimes (as UTC "Z", like pydantic's JSON mode) and numpy arrays. bug_report's embedding is
written as schema version 2's ``embedding_b64`` text (schemas/embedding.py); decoded, either
version's embedding is the float32s infer had, under ``embedding``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import orjson

from inferstream.schemas import (
    DecodeError,
    decode_embedding_b64,
    embedding_form_error,
    get_task,
    make_result_id,
)
from inferstream.schemas.embedding import EMBEDDING, EMBEDDING_B64

__all__ = ["ResultFields", "decode_result_fields", "encode_results", "result_head"]

ResultFields = dict[str, Any]
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY


def result_head(
    task: str,
    submission_id: str,
    schema_version: int,
    model: tuple[str, str],
    produced_at: datetime,
) -> ResultFields:
    """The fields every result starts with (the contract's common part); the task adds its own
    after them. ``model`` is (name, version)."""
    name, version = model
    return {
        "result_id": make_result_id(submission_id, name, version),
        "submission_id": submission_id,
        "task": task,
        "schema_version": schema_version,
        "model_name": name,
        "model_version": version,
        "produced_at": produced_at,
    }


def encode_results(results: Sequence[ResultFields]) -> list[bytes]:
    """The JSON value of every result, one orjson call each and no Python per field."""
    dumps = orjson.dumps
    return [dumps(result, option=_OPTIONS) for result in results]


@cache
def _field_names(task: str) -> tuple[frozenset[str], frozenset[str]]:
    fields = get_task(task).result_model.model_fields
    return frozenset(n for n, f in fields.items() if f.is_required()), frozenset(fields)


def decode_result_fields(task: str, value: bytes) -> ResultFields:
    """A result infer wrote, as plain fields, with its structure checked (an object of this
    task's result, every required field, no unknown one) but not its values: infer built it
    from its own model output. Raises DecodeError on anything else, which the sink dead-letters
    and the index follower skips.

    The embedding comes back under ``embedding`` from either version (what the results table
    and the index read): version 1's float list as it is, version 2's ``embedding_b64``
    decoded to float32s and checked (strict base64, whole float32s, at most 4,096, finite),
    in its place. The field that does not fit the version, or a malformed text, is a
    DecodeError naming the field."""
    try:
        fields = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise DecodeError(f"malformed JSON: {err}") from None
    if not isinstance(fields, dict):
        raise DecodeError(f"expected an object, got {type(fields).__name__}")
    required, known = _field_names(task)
    keys = fields.keys()
    if not required <= keys:
        raise DecodeError(f"result: missing {sorted(required - keys)}")
    if not keys <= known:
        raise DecodeError(f"result: unknown fields {sorted(keys - known)}")
    if fields.get("task", task) != task:
        raise DecodeError(f"result of task {fields['task']!r}, expected {task!r}")
    b64 = fields.get(EMBEDDING_B64)
    if b64 is not None or fields.get(EMBEDDING) is not None:
        _embedding_as_floats(fields, b64)
    return fields


def _embedding_as_floats(fields: ResultFields, b64: Any) -> None:
    error = embedding_form_error(
        fields.get("schema_version"), fields.get(EMBEDDING) is not None, b64 is not None
    )
    if error is not None:
        raise DecodeError(f"result: {error}")
    if b64 is not None:
        try:
            fields[EMBEDDING] = decode_embedding_b64(b64)
        except ValueError as err:
            raise DecodeError(f"result: {EMBEDDING_B64}: {err}") from None
        del fields[EMBEDDING_B64]
