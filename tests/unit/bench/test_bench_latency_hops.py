"""`bench latency`'s split of each submission's latency at the stages' own timestamps."""

from __future__ import annotations

import math

from inferstream.bench.latency_hops import HOPS, summarise


def test_each_hop_is_the_gap_between_its_timestamps() -> None:
    rows = [("a", 10.0, 10.5, 10.6), ("b", 20.0, 20.9, 21.2)]
    split = summarise(rows, {"a": 10.1, "b": 20.4})
    assert len(split.p50) == len(HOPS)
    assert math.isclose(split.p50[0], 0.1) and math.isclose(split.p99[0], 0.4)  # enrich
    assert math.isclose(split.p50[1], 0.4) and math.isclose(split.p99[1], 0.5)  # infer
    assert math.isclose(split.p50[2], 0.1) and math.isclose(split.p99[2], 0.3)  # sink
    assert split.cells() == ["0.10 / 0.40", "0.40 / 0.50", "0.10 / 0.30"]


def test_a_row_without_its_enriched_record_counts_for_the_sink_only() -> None:
    split = summarise([("a", 10.0, 10.5, 10.7)], {})
    assert all(math.isnan(v) for v in split.p50[:2])
    assert math.isclose(split.p50[2], 0.2)
    assert split.cells()[0] == "nan / nan"
