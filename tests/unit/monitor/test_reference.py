"""A version's reference distributions survive the bundle's metadata (sorted keys, JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inferstream.monitor.reference import build, from_metadata


def test_reference_round_trips_through_sorted_json_keeping_the_feature_order() -> None:
    rng = np.random.default_rng(1)
    names = ("zeta", "alpha", "flag")
    x = np.column_stack([rng.normal(size=500), rng.uniform(size=500), rng.integers(0, 2, 500)])
    ref = build(names, x, rng.uniform(size=500))
    text = json.dumps({"reference": ref.to_json(), "name": "m"}, sort_keys=True)
    back = from_metadata(json.loads(text))
    assert back == ref
    assert back is not None and tuple(back.inputs) == names  # enrich's vector order
    # a binary feature: its two values are the only cut points
    assert back.inputs["flag"].edges == (0.0, 1.0)
    # the registry keeps a bundle's metadata under "bundle"
    assert from_metadata({"bundle": json.loads(text)}) == ref
    assert from_metadata({"name": "old bundle"}) is None


def test_build_refuses_a_matrix_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="rows x 2"):
        build(("a", "b"), np.zeros((4, 3)), np.zeros(4))
