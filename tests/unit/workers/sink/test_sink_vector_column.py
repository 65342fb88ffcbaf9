"""A vector column's value: the struct-packed fast path gives numpy's float32 array of the
same list bit for bit, and anything it refuses goes to numpy with numpy's values and errors."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.plugins.tables import _vector

_NUMBERS = (
    st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.floats(allow_nan=False, allow_infinity=False)  # past float32: inf, as numpy rounds
    | st.integers(-(2**70), 2**70)
    | st.booleans()
)
_ODD = st.none() | st.text(alphabet="0123456789.-e", max_size=6) | st.lists(st.floats(), max_size=2)


def _numpy(value: Any) -> tuple[str, bytes] | str:
    try:
        array = np.asarray(value, dtype=np.float32)
    except Exception as err:  # the error itself is what must match
        return f"{type(err).__name__}: {err}"
    return str(array.dtype), array.tobytes()


def _ours(value: Any) -> tuple[str, bytes] | str:
    try:
        array = _vector(value)
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    return str(array.dtype), array.tobytes()


@given(st.lists(_NUMBERS, max_size=400))
def test_numbers_give_numpys_float32s(values: list[Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow to inf: both warn, or neither
        assert _ours(values) == _numpy(values)
        assert _vector(values).shape == (len(values),)


@given(st.lists(_NUMBERS | _ODD, min_size=1, max_size=6))
def test_anything_else_goes_to_numpy(values: list[Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert _ours(values) == _numpy(values)


@pytest.mark.parametrize(
    "value", [None, [], [2**1100], ["1.5", 2.0], [[1.0, 2.0]], (1.0, 2.0), [1.0, None]]
)
def test_edges(value: Any) -> None:
    if value is None:
        assert _vector(value) is None
    else:
        assert _ours(value) == _numpy(value)
    assert (
        _vector([0.1, -0.0, 1e-45]).tobytes()
        == np.asarray([0.1, -0.0, 1e-45], np.float32).tobytes()
    )
