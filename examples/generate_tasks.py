"""Write the demo inputs of the target_risk, anomaly and churn tasks (deterministic).

    .venv/bin/python examples/generate_tasks.py

Each ``<task>.jsonl`` line is ``{"submission_id": ..., "payload": {...}}`` as `inferstream
publish` reads it; a few deliberately invalid lines at the end exercise the dead-letter path.
``<task>.labels.json`` holds the generator's ground truth, which the demo compares with the
results. What the generators simulate is documented in inferstream/training/datasets.py: the
data is synthetic, drawn from other seeds than the training sets.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from inferstream.training.datasets import churn_records, metric_series, target_records

HERE = Path(__file__).parent
COUNT = 300


def _ids(seed: int) -> Any:
    rng = random.Random(seed)  # noqa: S311 (reproducible ids, not secrets)
    while True:
        yield str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _write(
    task: str, lines: list[dict[str, Any]], invalid: list[str], labels: dict[str, Any]
) -> None:
    body = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    body += "".join(line + "\n" for line in invalid)
    (HERE / f"{task}.jsonl").write_text(body, encoding="utf-8")
    (HERE / f"{task}.labels.json").write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    print(f"{task}: {len(lines)} valid, {len(invalid)} invalid lines")


def main() -> None:
    ids = _ids(2024)
    payloads, churned = churn_records(COUNT, seed=104)
    lines = [{"submission_id": next(ids), "payload": p} for p in payloads]
    bad_contract = {**payloads[0], "contract": "weekly"}
    no_tenure = {**payloads[1], "tenure_months": 0, "total_charges": 999.0}
    _write(
        "churn",
        lines,
        [
            json.dumps({"submission_id": next(ids), "payload": bad_contract}),
            json.dumps({"submission_id": next(ids), "payload": no_tenure}),
            '{"submission_id": "not-an-id", "payload": {}}',
        ],
        {"churned": [line["submission_id"] for line, y in zip(lines, churned, strict=True) if y]},
    )

    payloads, heads = target_records(COUNT, seed=100)
    lines = [{"submission_id": next(ids), "payload": p} for p in payloads]
    _write(
        "target_risk",
        lines,
        [
            json.dumps(
                {"submission_id": next(ids), "payload": {**payloads[0], "domain": "intranet.local"}}
            ),
            json.dumps(
                {"submission_id": next(ids), "payload": {**payloads[1], "domain": "10.0.0.7"}}
            ),
            json.dumps(
                {
                    "submission_id": next(ids),
                    "payload": {**payloads[2], "domain": "https://x.example.com/"},
                }
            ),
        ],
        {
            "severity": {
                line["submission_id"]: h.severity for line, h in zip(lines, heads, strict=True)
            }
        },
    )

    observations = list(metric_series(6, COUNT // 6, seed=103))
    lines = [
        {
            "submission_id": next(ids),
            "payload": {
                "series_id": o.series_id,
                "timestamp": o.timestamp.isoformat(),
                "features": o.features,
            },
        }
        for o in observations
    ]
    _write(
        "anomaly",
        lines,
        [
            json.dumps(
                {
                    "submission_id": next(ids),
                    "payload": {"series_id": "host-x", "features": {"cpu_util": 0.5}},
                }
            ),
            json.dumps({"submission_id": next(ids), "payload": {"series_id": "host-x"}}),
        ],
        {
            "injected": [
                line["submission_id"]
                for line, o in zip(lines, observations, strict=True)
                if o.anomalous
            ]
        },
    )


if __name__ == "__main__":
    main()
