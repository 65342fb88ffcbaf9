"""Micro-benchmark: per-record CPU of infer's decode + build + encode and the sink's decode + row,
the validated pydantic path (before) against the trusted fast codec (after), in one run.

`python benchmarks/hotpath_codec.py [N]` (default 10,000 generated records per task). No
servers: only the codec and the plug-ins' row mapping. Prints CPU microseconds per record
(time.process_time) and the ratio before/after per task and step.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from inferstream.plugins import EnrichedMessage, Rejection, decode_result_fields, load_plugin
from inferstream.schemas import (
    build_envelope,
    decode_result,
    encode,
    get_task,
    make_result_id,
    new_submission_id,
    sample_payload,
)
from inferstream.schemas.fast import construct, encode_fast
from inferstream.workers.enrich.driver import encode_enriched
from inferstream.workers.infer.driver import decode_enriched

TASKS = ("anomaly", "bug_report", "churn", "target_risk")


def _own_fields(task: str, rng: random.Random) -> dict[str, Any]:
    """The task's own result fields, shaped like what its inferer produces."""
    if task == "bug_report":
        return {
            "quality_score": 0.8,
            "quality_flags": ["short_description"],
            "low_quality": False,
            "duplicate_status": "possible_duplicate",
            "duplicate_of": None,
            "similar": [
                {"submission_id": new_submission_id(), "score": 0.7, "cosine": 0.7}
                for _ in range(5)
            ],
            "content_sha256": "ab" * 32,
            "embedding": [rng.uniform(-0.1, 0.1) for _ in range(384)],
            "tokenizer_version": "minilm-1",
            "dedup_profile": "hybrid",
            "dedup_profile_version": "2",
            "product": "editor",
            "component": "io",
            "dedup_terms": {f"term{i}": 1 + i % 3 for i in range(40)},
        }
    contribs = [{"name": f"f{i}", "contribution": rng.uniform(-1, 1)} for i in range(5)]
    if task == "churn":
        return {"probability": 0.4, "label": False, "threshold": 0.5, "top_features": contribs}
    if task == "target_risk":
        return {
            "risk_score": 5.5,
            "risk_level": "medium",
            "vulnerabilities": [
                {"vulnerability_class": f"v{i}", "probability": 0.3} for i in range(6)
            ],
            "severity": {"label": "medium", "probability": 0.6},
            "chains": [{"name": "c", "probability": 0.4}],
        }
    return {
        "series_id": "host-1/cpu",
        "observed_at": datetime.now(UTC),
        "features": {"cpu_util": 0.9, "load_1m": 7.5, "mem_util": 0.4},
        "input_partition": 3,
        "input_offset": 1234,
        "score": 4.2,
        "threshold": 3.0,
        "is_anomaly": True,
        "detector": "robust_z",
        "contributing_features": contribs,
    }


def _result_fields(task: str, rng: random.Random) -> dict[str, Any]:
    sid = new_submission_id()
    return {
        "result_id": make_result_id(sid, "model", "1"),
        "submission_id": sid,
        "task": task,
        "schema_version": 1,
        "model_name": "model",
        "model_version": "1",
        "produced_at": datetime.now(UTC),
        **_own_fields(task, rng),
    }


def _enriched(task: str, n: int) -> list[bytes]:
    plugin = load_plugin(task)
    out = []
    for _ in range(n):
        envelope = build_envelope(task, sample_payload(task))
        (enrichment,) = plugin.enrich([envelope])
        if isinstance(enrichment, Rejection):
            raise SystemExit(f"{task}: sample payload rejected: {enrichment.reason}")
        out.append(encode_enriched(envelope, enrichment))
    return out


def _cpu_us(step: Callable[[Any], object], inputs: list[Any]) -> float:
    started = time.process_time()
    for value in inputs:
        step(value)
    return (time.process_time() - started) / len(inputs) * 1e6


def bench_task(task: str, n: int) -> list[tuple[str, float, float]]:
    plugin = load_plugin(task)
    contract = get_task(task)
    env_model, enr_model, res_model = (
        contract.envelope_model,
        plugin.enrichment_model,
        contract.result_model,
    )
    enriched = _enriched(task, n)
    rng = random.Random(7)  # noqa: S311 - benchmark data, not security
    fields = [_result_fields(task, rng) for _ in range(n)]
    results = [res_model.model_validate(f) for f in fields]
    wire = [encode(r) for r in results]
    at = datetime.now(UTC)

    def old_decode(value: bytes) -> object:
        message = EnrichedMessage.model_validate(orjson.loads(value))
        return env_model.model_validate(message.envelope), enr_model.model_validate(
            message.enrichment
        )

    rows = [
        ("infer decode", old_decode, lambda v: decode_enriched(v, env_model, enr_model), enriched),
        ("infer build", res_model.model_validate, lambda f: construct(res_model, f), fields),
        ("infer encode", encode, encode_fast, results),
        (
            "sink decode+row",
            lambda v: plugin.table.row(decode_result(task, v).model_dump(), at),
            lambda v: plugin.table.row(decode_result_fields(task, v), at),
            wire,
        ),
    ]
    out = []
    for name, before, after, inputs in rows:
        # Alternate before/after twice; keep each one's best (least disturbed) pass.
        b = min(_cpu_us(before, inputs), _cpu_us(before, inputs))
        a = min(_cpu_us(after, inputs), _cpu_us(after, inputs))
        out.append((name, b, a))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"N={n} records per task; CPU us per record (process_time), best of 2 alternating")
    print(f"{'task':<12} {'step':<16} {'before':>9} {'after':>9} {'ratio':>7}")
    for task in TASKS:
        total_b = total_a = 0.0
        for name, b, a in bench_task(task, n):
            total_b, total_a = total_b + b, total_a + a
            print(f"{task:<12} {name:<16} {b:9.1f} {a:9.1f} {b / a:6.1f}x")
        ratio = total_b / total_a
        print(f"{task:<12} {'all four':<16} {total_b:9.1f} {total_a:9.1f} {ratio:6.1f}x")


if __name__ == "__main__":
    main()
