"""The tabular plug-ins' one serving path: a batch split by key hash, results in batch order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.models.registry.live import Served
from inferstream.models.registry.routing import is_canary
from inferstream.models.registry.serving import VersionedServing

KEYS = st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=40)


def _serving() -> VersionedServing[str]:
    # run() reads only the Served it is given: no bundle, registry or watcher needed.
    return VersionedServing.__new__(VersionedServing)


@given(keys=KEYS, fraction=st.floats(0.0, 1.0))
def test_each_key_is_served_by_the_version_its_hash_selects(
    keys: list[str], fraction: float
) -> None:
    served = Served(("1", "v1"), ("2", "v2"), fraction)
    calls: list[list[int]] = []

    def predict(model: str, idx: list[int]) -> list[tuple[str, str]]:
        calls.append(idx)
        return [(model, keys[i]) for i in idx]

    out = _serving().run(served, keys, predict)
    assert [key for _, key in out] == keys  # batch order kept
    for model, key in out:
        assert model == ("v2" if is_canary(key, fraction) else "v1")
    assert all(idx for idx in calls)  # an empty share is never predicted
    assert len(calls) <= 2


def test_without_a_canary_production_serves_the_whole_batch_in_one_call() -> None:
    calls: list[list[int]] = []

    def predict(model: str, idx: list[int]) -> list[str]:
        calls.append(idx)
        return [model] * len(idx)

    assert _serving().run(Served(("1", "v1")), ["a", "b", "c"], predict) == ["v1"] * 3
    assert calls == [[0, 1, 2]]
