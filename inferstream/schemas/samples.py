"""One small valid payload per task, for demos, smoke tests and documentation."""

from __future__ import annotations

import copy
from typing import Any

from .registry import get_task

__all__ = ["sample_payload"]

_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_SAMPLES: dict[str, dict[str, Any]] = {
    "bug_report": {
        "title": "Crash when saving a file with a unicode name",
        "description": "The editor crashes with a segfault when saving 'résumé.txt'.",
        "steps_to_reproduce": "1. Open the editor\n2. Save as 'résumé.txt'",
        "logs": "Segmentation fault (core dumped)",
        "product": "editor",
        "component": "io",
        "reporter": "alice@example.com",
    },
    "target_risk": {
        "domain": "api.example.com",
        "technology_stack": ["nginx", "django", "postgresql"],
        "has_api": True,
        "description": "Public REST API with token authentication.",
    },
    "media": {
        "blob": {
            "uri": "s3://inferstream-media/samples/empty.png",
            "sha256": _EMPTY_SHA256,
            "size": 0,
            "content_type": "image/png",
        },
        "filename": "empty.png",
        "content_type": "image/png",
    },
    "anomaly": {
        "series_id": "host-42/cpu",
        "timestamp": "2024-01-01T00:00:00Z",
        "features": {"cpu_util": 0.93, "load_1m": 7.5, "mem_util": 0.41},
    },
    "churn": {
        "customer_id": "cust-0001",
        "tenure_months": 3,
        "monthly_charges": 89.5,
        "total_charges": 268.5,
        "contract": "month-to-month",
        "payment_method": "electronic_check",
        "internet_service": "fiber_optic",
        "senior_citizen": False,
        "has_partner": False,
        "has_dependents": False,
        "paperless_billing": True,
        "num_support_tickets": 4,
    },
}


def sample_payload(task: str) -> dict[str, Any]:
    """A fresh (deep-copied) valid payload dict for ``task``; raises ``UnknownTaskError``."""
    contract = get_task(task)
    return copy.deepcopy(_SAMPLES[contract.name])
