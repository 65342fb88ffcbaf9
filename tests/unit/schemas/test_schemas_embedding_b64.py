"""Schema version 2's embedding (``embedding_b64``: base64 of little-endian float32) beside
version 1's float list: written in bulk, read back bit for bit by the model, the sink's
decoder and row and the client's helper, and every malformed form refused naming the field."""

from __future__ import annotations

import base64
import struct
from typing import Any

import numpy as np
import orjson
import pytest
from _bug_results import bug_report_fields, bug_report_value
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from inferstream.plugins import decode_result_fields, encode_results
from inferstream.plugins.columns import TABLES
from inferstream.schemas import (
    BugReportResult,
    DecodeError,
    decode_result,
    encode_embeddings_b64,
    render_json_schemas,
    result_embedding,
)

TABLE = TABLES["bug_report"]
VECTOR_COLUMN = TABLE.columns.index("embedding")

# Every finite float32, by its bits: each exponent, subnormals, both zeros.
finite_bits = st.integers(0, 2**32 - 1).filter(lambda b: (b >> 23) & 0xFF != 0xFF)


def _floats(bits: list[int]) -> np.ndarray:
    return np.array(bits, dtype=np.uint32).view(np.float32)


def _stored(value: bytes) -> np.ndarray:
    """The vector the sink writes for a message value: its decode, then the table's row."""
    vector = TABLE.row(decode_result_fields("bug_report", value), None)[VECTOR_COLUMN]
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float32
    return vector


@settings(max_examples=200, deadline=None)
@given(bits=st.lists(finite_bits, min_size=1, max_size=512))
def test_the_sink_stores_the_same_float32s_from_a_v1_and_a_v2_message(bits: list[int]) -> None:
    vector = _floats(bits)
    v1, v2 = _stored(bug_report_value(1, vector)), _stored(bug_report_value(2, vector))
    assert v1.view(np.uint32).tolist() == bits
    assert v2.view(np.uint32).tolist() == bits


@settings(max_examples=50, deadline=None)
@given(
    matrix=arrays(
        np.float64,
        st.tuples(st.integers(0, 6), st.integers(0, 40)),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    )
)
def test_rows_are_the_standard_base64_of_their_little_endian_float32s(matrix: np.ndarray) -> None:
    # Any dtype and layout in (a float64 matrix, transposed: not contiguous).
    for m in (matrix, matrix.T):
        expected = [base64.b64encode(row.astype("<f4").tobytes()).decode() for row in m]
        assert encode_embeddings_b64(m) == expected


@pytest.mark.parametrize("version", [1, 2])
def test_each_version_validates_and_reads_back_through_every_reader(version: int) -> None:
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    value = bug_report_value(version, vector)
    model = decode_result("bug_report", value)  # the model: subscribe, verify
    assert isinstance(model, BugReportResult) and model.schema_version == version
    for read in (model, orjson.loads(value), decode_result_fields("bug_report", value)):
        found = result_embedding(read)
        assert found is not None and found.tobytes() == vector.tobytes()
    # A model's dump (every field, the other embedding field null) validates again.
    assert BugReportResult.model_validate_json(model.model_dump_json()) == model


def test_a_result_without_an_embedding_has_none() -> None:
    for version in (1, 2):
        value = bug_report_value(version, None)
        assert result_embedding(decode_result("bug_report", value)) is None
        assert result_embedding(decode_result_fields("bug_report", value)) is None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# (the v2 value's change, what the reason must say)
MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"embedding_b64": "AAAA@AAA"}, "base64"),
    ({"embedding_b64": "AAAAAA"}, "base64"),  # padding missing
    ({"embedding_b64": "AAAA\nAAAA"}, "base64"),
    ({"embedding_b64": "AAAA=AAA"}, "base64"),  # data after padding
    ({"embedding_b64": "ÄAAA"}, "base64"),
    ({"embedding_b64": _b64(b"\0" * 6)}, "whole number of float32s"),
    ({"embedding_b64": _b64(struct.pack("<2f", 0.5, float("nan")))}, "NaN"),
    ({"embedding_b64": _b64(struct.pack("<I", 0x7FC00001))}, "NaN"),  # a NaN payload
    ({"embedding_b64": _b64(struct.pack("<f", float("-inf")))}, "infinity"),
    ({"embedding_b64": _b64(b"\0" * 4 * 4097)}, "4096"),
    ({"embedding_b64": _b64(b"\0" * 4 * 4098)}, "4096"),
    ({"embedding_b64": 12}, "embedding_b64"),
    ({"embedding": [0.5]}, "version 2 result carries 'embedding_b64'"),  # both fields
    ({"embedding": [0.5], "embedding_b64": None}, "not 'embedding'"),  # floats on v2
    ({"schema_version": 1}, "version 1 result carries 'embedding'"),  # base64 on v1
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED)
def test_a_malformed_embedding_is_refused_naming_the_field(
    change: dict[str, Any], reason: str
) -> None:
    fields = {**bug_report_fields(2, np.zeros(4, dtype=np.float32)), **change}
    (value,) = encode_results([fields])
    with pytest.raises(DecodeError, match="embedding") as sink:
        decode_result_fields("bug_report", value)
    with pytest.raises(ValidationError) as model:
        decode_result("bug_report", value)
    for message in (str(sink.value), str(model.value)):
        assert reason in message or reason.lower() in message.lower(), message


def test_4096_floats_are_the_most_a_v2_result_holds() -> None:
    value = bug_report_value(2, np.full(4096, 0.25, dtype=np.float32))
    assert decode_result_fields("bug_report", value)["embedding"].shape == (4096,)
    decode_result("bug_report", value)


def test_other_versions_than_1_and_2_are_refused() -> None:
    fields = {**bug_report_fields(2, None), "schema_version": 3}
    with pytest.raises(ValidationError, match="schema_version"):
        decode_result("bug_report", orjson.dumps(fields, option=orjson.OPT_UTC_Z))


def test_the_client_reader_refuses_both_fields_at_once() -> None:
    with pytest.raises(ValueError, match="both"):
        result_embedding({"embedding": [0.5], "embedding_b64": _b64(b"\0" * 4)})


def test_the_json_schema_describes_the_base64_form_and_each_versions_field() -> None:
    schema = orjson.loads(render_json_schemas()["bug_report.result.schema.json"])
    (form, _null) = schema["properties"]["embedding_b64"]["anyOf"]
    assert form["contentEncoding"] == "base64" and form["type"] == "string"
    assert "little-endian float32" in form["description"]
    assert schema["properties"]["schema_version"]["enum"] == [1, 2]
    forbidden = {
        rule["if"]["properties"]["schema_version"]["const"]: set(rule["then"]["properties"])
        for rule in schema["allOf"]
    }
    assert forbidden == {1: {"embedding_b64"}, 2: {"embedding"}}
