"""The int8 index's reference answer, shared by its tests: a brute force over every pair."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inferstream.models.int8_flat import pair_cosines

FloatArray = npt.NDArray[np.float32]


def brute_force(
    queries: FloatArray, stored: FloatArray, k: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Every pair's ``pair_cosines``, each query's k best by cosine then label."""
    m, n = len(queries), len(stored)
    owner = np.repeat(np.arange(m), n)
    rows = np.tile(np.arange(n), m)
    cosine = pair_cosines(queries, stored, owner, rows).reshape(m, n)
    labels = np.array(
        [np.lexsort((np.arange(n), -cosine[i].astype(np.float64)))[:k] for i in range(m)],
        dtype=np.int64,
    ).reshape(m, min(k, n))
    return labels, np.take_along_axis(cosine, labels, axis=1)
