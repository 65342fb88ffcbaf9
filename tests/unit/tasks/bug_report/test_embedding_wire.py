"""The embedding as it travels in a result. Infer writes schema version 2 (base64 of the
float32 bytes); version 1's float list (each float32's shortest decimal, as infer wrote it
before) is still read. Either way the index gets the same float32s: from the plain fields
infer built, from a followed message decoded by ``decode_result_fields``, or from the model."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from _bug_results import bug_report_fields, bug_report_value
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inferstream.plugins import decode_result_fields, encode_results
from inferstream.tasks.bug_report.inferer import RESULT_VERSION, result_features

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def _wire(vector: np.ndarray) -> bytes:
    (value,) = encode_results([{"embedding": np.ascontiguousarray(vector, dtype=np.float32)}])
    return value


@given(arrays(np.float32, st.integers(1, 384), elements=finite32))
def test_a_v1_embedding_reads_back_as_the_same_float32(vector: np.ndarray) -> None:
    values = orjson.loads(_wire(vector))["embedding"]
    assert all(type(v) is float for v in values)
    back = np.asarray(values, dtype=np.float32)
    assert back.tobytes() == vector.tobytes()


def test_infer_writes_version_2() -> None:
    assert RESULT_VERSION == 2


@pytest.mark.parametrize("version", [1, 2])
@given(vector=arrays(np.float32, st.integers(1, 384), elements=finite32))
def test_the_index_gets_the_same_vector_from_either_version(
    version: int, vector: np.ndarray
) -> None:
    plain = bug_report_fields(version, vector)  # what run() built (v2: the base64 text)
    followed = decode_result_fields("bug_report", bug_report_value(version, vector))
    for fields in (plain, followed):
        report = result_features(fields)
        assert report is not None and report.vector.tobytes() == vector.tobytes()
        assert (report.product, report.terms) == ("p", {"crash": 1})


def test_a_result_without_an_embedding_is_not_indexed() -> None:
    for version in (1, 2):
        assert result_features(bug_report_fields(version, None)) is None
        assert result_features(bug_report_fields(version, np.zeros(0, np.float32))) is None


def test_a_followed_v1_embedding_holding_null_is_not_indexed() -> None:
    # What orjson wrote for a NaN or an infinite float32 before infer refused them: the index
    # would refuse the vector, so the follower must not hand it to the scorer at all.
    value = orjson.loads(bug_report_value(1, np.ones(4, np.float32)))
    value["embedding"][2] = None
    followed = decode_result_fields("bug_report", orjson.dumps(value))
    assert result_features(followed) is None
