"""The embedding as it travels in a result: the inferer keeps it a float32 array, the bulk
encoder writes the shortest float32 decimals, and they read back bit-exact."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inferstream.plugins import encode_results

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def _wire(vector: np.ndarray) -> bytes:
    (value,) = encode_results([{"embedding": np.ascontiguousarray(vector, dtype=np.float32)}])
    return value


@given(arrays(np.float32, st.integers(1, 384), elements=finite32))
def test_the_encoded_embedding_reads_back_as_the_same_float32(vector: np.ndarray) -> None:
    values = orjson.loads(_wire(vector))["embedding"]
    assert all(type(v) is float for v in values)
    back = np.asarray(values, dtype=np.float32)
    assert back.tobytes() == vector.tobytes()


def test_the_encoded_embedding_is_shorter_than_the_float64_repr() -> None:
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    long = orjson.dumps({"embedding": [float(x) for x in vector]})
    assert len(_wire(vector)) < 0.7 * len(long)


def test_a_strided_row_is_encoded_as_its_values() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert orjson.loads(_wire(matrix[:, 1]))["embedding"] == [1.0, 5.0, 9.0]
