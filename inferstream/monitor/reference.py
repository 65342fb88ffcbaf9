"""A model version's reference distributions: its scores and input features on the held-out
set at training time, kept in the bundle's metadata (``metadata["reference"]``), so the
registry stores them with the version and the monitor compares live traffic against them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.monitor.psi import DEFAULT_BINS, Distribution, fit

METADATA_KEY = "reference"


@dataclass(frozen=True)
class Reference:
    score: Distribution
    inputs: Mapping[str, Distribution]
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "score": self.score.to_json(),
            # A list, not an object: the bundle's metadata is written with sorted keys, and the
            # order is the feature vector's (enrich's "features" are matched by position).
            "inputs": [{"name": name, **d.to_json()} for name, d in self.inputs.items()],
        }


def build(
    feature_names: Sequence[str],
    features: npt.NDArray[np.floating[Any]],
    scores: npt.ArrayLike,
    bins: int = DEFAULT_BINS,
) -> Reference:
    """The reference of a model on held-out rows: ``features`` (rows x len(feature_names))
    and the model's ``scores`` on them."""
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(feature_names):
        raise ValueError(f"features must be rows x {len(feature_names)}, got {matrix.shape}")
    inputs = {name: fit(matrix[:, j], bins) for j, name in enumerate(feature_names)}
    return Reference(fit(scores, bins), inputs, int(matrix.shape[0]))


def from_metadata(metadata: Mapping[str, Any]) -> Reference | None:
    """The reference kept in a bundle's metadata (a registry row keeps the bundle's under
    "bundle"); None for a bundle trained before references were recorded."""
    data = metadata.get(METADATA_KEY)
    if data is None and isinstance(metadata.get("bundle"), Mapping):
        data = metadata["bundle"].get(METADATA_KEY)
    if not isinstance(data, Mapping):
        return None
    inputs = {str(item["name"]): Distribution.from_json(item) for item in data.get("inputs", [])}
    return Reference(Distribution.from_json(data["score"]), inputs, int(data.get("rows", 0)))
