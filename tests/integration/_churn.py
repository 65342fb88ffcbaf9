"""A churn result as infer writes it to results.churn: the smallest result contract, for the
tests of the readers of a results topic (infer's follower, the gap guard)."""

from __future__ import annotations

import orjson


def churn_result(submission_id: str) -> bytes:
    return orjson.dumps(
        {
            "result_id": f"r-{submission_id}",
            "submission_id": submission_id,
            "schema_version": 1,
            "model_name": "test",
            "model_version": "1",
            "produced_at": "2026-12-07T05:00:00Z",
            "label": "stays",
            "probability": 0.25,
            "threshold": 0.5,
        }
    )
