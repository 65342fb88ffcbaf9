"""Per-result artifacts `verify` checks: only the media task keeps objects per result (its
thumbnail and, for a video, the per-frame scores, written by infer before the result is
produced). A row passes when every artifact key it names is stored; a reused result names the
artifacts of the result it reuses, so those must exist too."""

from __future__ import annotations

from typing import Any

import psycopg

from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore

ARTIFACT_TASKS = {"media": "artifacts/media/"}


def rows_with_artifacts(task: str, conn: psycopg.Connection[Any]) -> set[str] | None:
    """result_ids whose artifacts are all stored; None for a task without artifacts."""
    prefix = ARTIFACT_TASKS.get(task)
    if prefix is None:
        return None
    stored = set(ObjectStore(ObjectStoreSettings.load()).list_keys(prefix))
    rows = conn.execute(f"SELECT result_id, thumbnail_key, frames_key FROM results_{task}")
    return {
        str(result_id).strip()
        for result_id, thumbnail, frames in rows
        if thumbnail in stored and (frames is None or frames in stored)
    }
