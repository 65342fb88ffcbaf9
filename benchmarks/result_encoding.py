"""CPU time to encode bug_report results: orjson (what infer uses) against msgspec.

    pip install msgspec  # not a dependency: only this comparison needs it
    python benchmarks/result_encoding.py [--n 5000]

The results are what ``BugReportInferer.run`` builds: plain dicts with a float32 numpy
embedding (384), five similar reports, a 30-term map and the report's excerpts. Prints the
best of five passes in process CPU per result and the bytes per result for: orjson with
``OPT_SERIALIZE_NUMPY`` (``plugins.results.encode_results``), msgspec with an ``enc_hook`` that
turns the embedding into a list, and msgspec encoding the whole list at once. Both decode to
the same float32s; msgspec writes each float32 as the float64 it widens to (longer text).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
import orjson

from inferstream.plugins.results import ResultFields, encode_results, result_head


def _result(n: int, rng: np.random.Generator) -> ResultFields:
    result = result_head(
        "bug_report", f"sid-{n:08d}", 1, ("all-MiniLM-L6-v2", "1"), datetime.now(UTC)
    )
    result.update(
        tokenizer_version="1",
        quality_score=0.9,
        quality_flags=["short_title"],
        low_quality=False,
        duplicate_status="unique",
        duplicate_of=None,
        similar=[{"submission_id": f"s{j}", "score": 0.5, "cosine": 0.4} for j in range(5)],
        content_sha256="0" * 64,
        embedding=rng.standard_normal(384).astype(np.float32),
        product="Lumen Photo",
        component="export",
        dedup_terms={f"term{j}": 1 + j % 3 for j in range(30)},
        dedup_profile="hybrid",
        dedup_profile_version="1",
        title="t" * 60,
        description="d" * 300,
        steps_to_reproduce="s" * 200,
        logs="",
    )
    return result


def _hook(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def _best_cpu(encode: Callable[[], list[bytes] | bytes]) -> tuple[float, int]:
    best = float("inf")
    out: list[bytes] | bytes = b""
    for _ in range(5):
        started = time.process_time()
        out = encode()
        best = min(best, time.process_time() - started)
    size = sum(map(len, out)) if isinstance(out, list) else len(out)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    n = parser.parse_args().n
    rng = np.random.default_rng(0)
    results = [_result(i, rng) for i in range(n)]
    encoder = msgspec.json.Encoder(enc_hook=_hook)
    cases: dict[str, Callable[[], list[bytes] | bytes]] = {
        "orjson, float32 array (encode_results)": lambda: encode_results(results),
        "msgspec, enc_hook tolist, per result": lambda: [encoder.encode(r) for r in results],
        "msgspec, enc_hook tolist, one call": lambda: encoder.encode(results),
    }
    for name, encode in cases.items():
        spent, size = _best_cpu(encode)
        print(f"{name}: {1e6 * spent / n:.1f} us CPU/result, {size / n:.0f} bytes/result")
    same = [
        np.array(orjson.loads(e)["embedding"], np.float32) for e in encode_results(results[:50])
    ]
    assert all(np.array_equal(a, r["embedding"]) for a, r in zip(same, results, strict=False))


if __name__ == "__main__":
    main()
