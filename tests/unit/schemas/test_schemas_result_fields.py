"""Results as plain structures (inferstream.plugins.results): what the inferers build and the
bulk encoder writes validates against the pydantic result model and means the same, and the
sink's row from the decoded fields equals the row from the validated model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from psycopg.types.json import Jsonb
from schemas_strategies import RESULTS

from inferstream.plugins import ResultTable, decode_result_fields, encode_results
from inferstream.plugins.columns import TABLES
from inferstream.schemas import (
    DecodeError,
    encode,
    encode_embeddings_b64,
    get_task,
    result_embedding,
)

_SLOW = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _comparable(row: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for value in row:
        if isinstance(value, Jsonb):
            value = ("jsonb", value.obj)
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        out.append(value)
    return out


# Generated embeddings may hold float64s beyond float32's range (the contract allows them).
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("task", sorted(TABLES))
@_SLOW
@given(data=st.data())
def test_plain_fields_encode_to_what_the_model_writes(task: str, data: Any) -> None:
    result = data.draw(RESULTS[task])
    model = get_task(task).result_model
    # What an inferer builds: plain dicts, lists and datetimes (no model objects).
    plain = result.model_dump()
    (fast,) = encode_results([plain])
    assert model.model_validate_json(fast) == result
    assert orjson.loads(fast) == orjson.loads(encode(result))
    # The sink's path: decoded plain fields -> row, equal to the row of the validated model
    # (its embedding, either version's, under `embedding`).
    decoded = decode_result_fields(task, fast)
    table = TABLES[task]
    expected = {**plain, "embedding": result_embedding(result)} if "embedding" in plain else plain
    assert _comparable(table.row(decoded, None)) == _comparable(table.row(expected, None))
    # row() equals the plain per-column loop over the declaration, submitted_at in its place.
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _comparable(table.row(decoded, at)) == _comparable(_row_by_column(table, decoded, at))


def _row_by_column(table: ResultTable, result: dict[str, Any], at: datetime) -> tuple[Any, ...]:
    convert = {"timestamptz": datetime.fromisoformat, "float4": float, "float8": float}
    out: list[Any] = []
    for column in table.all_columns:
        if column.source is None:
            out.append(at)
            continue
        value = result.get(column.source)
        if value is None:
            out.append(None)
        elif column.pg_type == "jsonb":
            out.append(Jsonb(value))
        elif column.pg_type == "vector":
            out.append(np.asarray(value, dtype=np.float32))
        elif column.pg_type in convert and not isinstance(value, datetime):
            out.append(convert[column.pg_type](value))
        else:
            out.append(value)
    return tuple(out)


finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1, max_value=1)


def _with_embedding(version: int, vector: np.ndarray) -> dict[str, Any]:
    """The embedding fields of a result of ``version``: v1 the float32 array (orjson writes
    each float's shortest decimal), v2 its base64 text, as infer writes each."""
    if version == 1:
        return {"schema_version": 1, "embedding": vector, "embedding_b64": None}
    return {
        "schema_version": 2,
        "embedding": None,
        "embedding_b64": encode_embeddings_b64([vector])[0],
    }


@pytest.mark.parametrize("version", [1, 2])
@_SLOW
@given(data=st.data(), vector=arrays(np.float32, 384, elements=finite32))
def test_a_float32_embedding_array_is_written_as_the_same_float32s(
    version: int, data: Any, vector: np.ndarray
) -> None:
    result = data.draw(RESULTS["bug_report"])
    plain = {**result.model_dump(), **_with_embedding(version, vector)}
    (fast,) = encode_results([plain])
    validated = get_task("bug_report").result_model.model_validate_json(fast)
    embedding = result_embedding(validated)
    assert embedding is not None and embedding.tobytes() == vector.tobytes()
    embedding_fields = {"schema_version", "embedding", "embedding_b64"}
    assert validated.model_dump(exclude=embedding_fields) == result.model_dump(
        exclude=embedding_fields
    )


def _churn() -> dict[str, Any]:
    return {
        "result_id": "0" * 64,
        "submission_id": "01J00000000000000000000000",
        "task": "churn",
        "schema_version": 1,
        "model_name": "m",
        "model_version": "1",
        "produced_at": "2024-01-01T00:00:00Z",
        "probability": 0.5,
        "label": True,
        "threshold": 0.5,
        "top_features": [],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("model_name"), "missing"),
        (lambda d: d.update(extra=1), "unknown"),
        (lambda d: d.update(task="anomaly"), "task"),
    ],
)
def test_a_result_with_the_wrong_structure_is_a_decode_error(change: Any, message: str) -> None:
    fields = _churn()
    change(fields)
    with pytest.raises(DecodeError, match=message):
        decode_result_fields("churn", orjson.dumps(fields))


@pytest.mark.parametrize("value", [b"", b"{", b"[]", b"1"])
def test_bytes_that_are_no_result_object_are_decode_errors(value: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_result_fields("churn", value)
