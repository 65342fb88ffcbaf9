"""The embedding as it travels in a result: shortest float32 decimals, read back bit-exact."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inferstream.tasks.bug_report.inferer import float32_list

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(arrays(np.float32, st.integers(1, 384), elements=finite32))
def test_float32_list_reads_back_as_the_same_float32(vector: np.ndarray) -> None:
    values = float32_list(vector)
    assert all(type(v) is float for v in values)
    back = np.asarray(orjson.loads(orjson.dumps(values)), dtype=np.float32)
    assert back.tobytes() == vector.tobytes()


def test_float32_list_is_shorter_than_the_float64_repr() -> None:
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    short = orjson.dumps(float32_list(vector))
    long = orjson.dumps([float(x) for x in vector])
    assert len(short) < 0.7 * len(long)


def test_float32_list_takes_a_strided_row() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert float32_list(matrix[:, 1]) == [1.0, 5.0, 9.0]
