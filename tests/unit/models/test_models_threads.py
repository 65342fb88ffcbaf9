"""Scoped thread limits on the native libraries' pools."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from inferstream.models.threads import limited, limited_for


def _counts() -> dict[str, int]:
    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}


def test_a_limit_holds_inside_the_block_only() -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded
    before = _counts()
    assert before, "no BLAS/OpenMP pool found to limit"
    with limited(1):
        assert set(_counts().values()) == {1}
    assert _counts() == before
    with pytest.raises(ValueError, match="threads"):
        limited(0)


def test_a_single_row_call_is_not_limited() -> None:
    """One query row runs on one thread anyway: no limit is set (it costs ~40 us a call)."""
    np.ones((4, 4)) @ np.ones((4, 4))
    before = _counts()
    with limited_for(1, 1):
        assert _counts() == before
    with limited_for(2, 1):
        assert set(_counts().values()) == {1}


def test_pools_of_libraries_imported_after_first_use_are_limited_too() -> None:
    with limited(1):
        pass
    import torch  # brings its own OpenMP runtime

    assert torch.get_num_threads() >= 1
    with limited(1):
        assert set(_counts().values()) == {1}
