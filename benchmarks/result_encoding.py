"""Micro-benchmark: building and encoding a batch of bug_report results, per record.

`python benchmarks/result_encoding.py [N]` (default 5,000). Three ways, alternated, best of 3
passes each, CPU microseconds per record (time.process_time), bytes per message:

- ``pydantic construct + orjson``: the previous hot path (a result model per record built with
  schemas.fast.construct, its embedding first turned into a list of float32-exact floats,
  encoded with schemas.fast.encode_many);
- ``plain dict + orjson``: what the inferers do now (inferstream.plugins.results: a dict of
  the fields, the embedding left a float32 array, orjson's numpy support writes it);
- ``msgspec Struct``: a msgspec.Struct per record encoded by ``msgspec.json.Encoder``; msgspec
  has no numpy support, so the embedding goes in as ``tolist()`` floats (float64 repr: longer
  messages). Only when msgspec is importable (not a dependency: `pip install msgspec`).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from inferstream.plugins import encode_results, result_head
from inferstream.schemas import BugReportResult, new_submission_id
from inferstream.schemas.fast import construct, encode_many

DIM = 384


def _records(n: int) -> list[tuple[dict[str, Any], np.ndarray]]:
    rng = random.Random(7)  # noqa: S311 - benchmark data, not security
    vectors = np.random.default_rng(7).standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        head = result_head("bug_report", new_submission_id(), 1, ("all-MiniLM-L6-v2", "v1"), now)
        own = {
            "tokenizer_version": "abc123",
            "quality_score": rng.random(),
            "quality_flags": ["short_description"],
            "low_quality": False,
            "duplicate_status": "possible_duplicate",
            "duplicate_of": None,
            "similar": [
                {"submission_id": new_submission_id(), "score": 0.7, "cosine": 0.71}
                for _ in range(5)
            ],
            "content_sha256": "ab" * 32,
            "product": "editor",
            "component": "io",
            "dedup_terms": {f"term{j}": 1 + j % 3 for j in range(40)},
            "dedup_profile": "hybrid",
            "dedup_profile_version": "2",
        }
        out.append(({**head, **own}, vectors[i]))
    return out


def _float32_list(vector: np.ndarray) -> list[float]:
    values: list[float] = orjson.loads(orjson.dumps(vector, option=orjson.OPT_SERIALIZE_NUMPY))
    return values


def via_pydantic(records: list[tuple[dict[str, Any], np.ndarray]]) -> list[bytes]:
    results = [construct(BugReportResult, {**f, "embedding": _float32_list(v)}) for f, v in records]
    return encode_many(results)


def via_plain(records: list[tuple[dict[str, Any], np.ndarray]]) -> list[bytes]:
    return encode_results([{**f, "embedding": v} for f, v in records])


def _msgspec_encoder() -> Callable[[list[tuple[dict[str, Any], np.ndarray]]], list[bytes]] | None:
    try:
        import msgspec
    except ImportError:
        return None

    class Similar(msgspec.Struct):
        submission_id: str
        score: float
        cosine: float | None

    class Result(msgspec.Struct):
        result_id: str
        submission_id: str
        task: str
        schema_version: int
        model_name: str
        model_version: str
        produced_at: datetime
        tokenizer_version: str
        quality_score: float
        quality_flags: list[str]
        low_quality: bool
        duplicate_status: str
        duplicate_of: str | None
        similar: list[Similar]
        content_sha256: str
        product: str
        component: str
        dedup_terms: dict[str, int]
        dedup_profile: str
        dedup_profile_version: str
        embedding: list[float]

    encoder = msgspec.json.Encoder()

    def encode(records: list[tuple[dict[str, Any], np.ndarray]]) -> list[bytes]:
        out = []
        for f, v in records:
            similar = [Similar(**s) for s in f["similar"]]
            out.append(encoder.encode(Result(**{**f, "similar": similar, "embedding": v.tolist()})))
        return out

    return encode


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    records = _records(n)
    ways: dict[str, Callable[[list[tuple[dict[str, Any], np.ndarray]]], list[bytes]]] = {
        "pydantic construct + orjson": via_pydantic,
        "plain dict + orjson": via_plain,
    }
    msgspec_way = _msgspec_encoder()
    if msgspec_way is not None:
        ways["msgspec Struct"] = msgspec_way
    best = dict.fromkeys(ways, float("inf"))
    size: dict[str, float] = {}
    for _ in range(3):  # alternate the ways; keep each one's least disturbed pass
        for name, way in ways.items():
            started = time.process_time()
            values = way(records)
            best[name] = min(best[name], (time.process_time() - started) / n * 1e6)
            size[name] = sum(map(len, values)) / n
    print(f"N={n} bug_report results; CPU us per record (best of 3 alternating), bytes/message")
    base = best["pydantic construct + orjson"]
    for name in ways:
        print(f"{name:<30} {best[name]:8.1f} us {base / best[name]:6.2f}x {size[name]:8.0f} B")
    if msgspec_way is None:
        print("msgspec not installed: not measured")


if __name__ == "__main__":
    main()
