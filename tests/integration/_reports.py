"""Stored bug reports for the triage and web view tests: a results row with the report's text
and a done submission, as the sink writes them (one helper for both test files)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

DIM = 384


def unit_vector(rng: np.random.Generator, near: np.ndarray | None = None) -> np.ndarray:
    v = rng.standard_normal(DIM) if near is None else near + 0.35 * rng.standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def store_report(
    conn: psycopg.Connection[Any],
    submission_id: str,
    vector: np.ndarray,
    *,
    title: str,
    product: str = "editor",
    status: str = "unique",
    duplicate_of: str | None = None,
    similar: list[dict[str, Any]] | None = None,
    description: str = "",
) -> None:
    """Needs pgvector registered on ``conn`` (register_vector)."""
    result_id = hashlib.sha256(f"{submission_id}/stored".encode()).hexdigest()
    conn.execute(
        "INSERT INTO results_bug_report (result_id, submission_id, model_name, model_version, "
        "quality_score, low_quality, duplicate_status, duplicate_of, similar_items, "
        "content_sha256, embedding, produced_at, submitted_at, title, description, "
        "steps_to_reproduce, logs, product, component, dedup_profile, dedup_profile_version) "
        "VALUES (%s, %s, 'minilm', 'v1', 0.8, false, %s, %s, %s, %s, %s, now(), "
        "now() - interval '2 seconds', %s, %s, '1. open a file\n2. save', %s, %s, 'files', "
        "'hybrid', 'test')",
        (
            result_id,
            submission_id,
            status,
            duplicate_of,
            Jsonb(similar or []),
            result_id,
            vector,
            title,
            description or f"{title}: it happens every time.",
            f"ERROR {title} at Saver.save(Saver.java:42)",
            product,
        ),
    )
    conn.execute(
        "INSERT INTO submissions (submission_id, task, status, result_id) "
        "VALUES (%s, 'bug_report', 'done', %s)",
        (submission_id, result_id),
    )
