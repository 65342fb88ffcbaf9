"""A bug_report result's plain fields of either schema version, as infer writes them (the
embedding a float32 array for version 1, which orjson writes as each float's shortest decimal;
base64 of its float32 bytes for version 2): shared by the tests of every reader of results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.plugins import encode_results, result_head
from inferstream.schemas import encode_embeddings_b64

SUBMISSION = "01J00000000000000000000000"
PRODUCED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def bug_report_fields(
    version: int, vector: npt.ArrayLike | None, submission_id: str = SUBMISSION
) -> dict[str, Any]:
    """A unique report's result of ``version`` holding ``vector`` (None: no embedding)."""
    result = result_head("bug_report", submission_id, version, ("m", "1"), PRODUCED_AT)
    result.update(
        quality_score=0.5,
        quality_flags=[],
        low_quality=False,
        duplicate_status="unique",
        duplicate_of=None,
        similar=[],
        content_sha256="0" * 64,
    )
    if vector is not None:
        floats = np.ascontiguousarray(vector, dtype=np.float32)
        if version == 1:
            result["embedding"] = floats
        else:
            result["embedding_b64"] = encode_embeddings_b64(floats.reshape(1, -1))[0]
    result["product"] = "p"
    result["dedup_terms"] = {"crash": 1}
    return result


def bug_report_value(
    version: int, vector: npt.ArrayLike | None, submission_id: str = SUBMISSION
) -> bytes:
    """The message value of :func:`bug_report_fields` (infer's bulk encoder)."""
    (value,) = encode_results([bug_report_fields(version, vector, submission_id)])
    return value
