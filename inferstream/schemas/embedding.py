"""A result's embedding on the wire, both forms, and the one place that encodes and decodes them.

Schema version 1 of the bug_report result carries ``embedding``: a JSON list of floats (infer
wrote each float32's shortest decimal). Version 2 carries ``embedding_b64`` instead: the
standard base64 (RFC 4648, padded) of the vector's little-endian float32 bytes, the form of
OpenAI's ``encoding_format: "base64"``. Writing, compressing and parsing the decimal text cost
~37-43 us of CPU a record along infer, the sink and the archive (docs/benchmarks.md, "The
results' embedding as JSON text"). A result carries exactly one of the two, by its version;
retained topics and older lake files hold version 1, so every reader takes both.

Decoded, both give the same float32s: a float32's shortest decimal parses back to itself, and
the base64 form is its bytes.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EMBEDDING",
    "EMBEDDING_B64",
    "MAX_B64_CHARS",
    "MAX_FLOATS",
    "decode_embedding_b64",
    "embedding_form_error",
    "encode_embeddings_b64",
    "result_embedding",
]

FloatArray = npt.NDArray[np.float32]

EMBEDDING = "embedding"  # version 1: a JSON list of numbers
EMBEDDING_B64 = "embedding_b64"  # version 2: base64 of the little-endian float32 bytes
MAX_FLOATS = 4096
# The longest base64 text of MAX_FLOATS floats (4 characters per 3 bytes, padded): a longer
# one is refused before it is decoded.
MAX_B64_CHARS = -(-MAX_FLOATS * 4 // 3) * 4
_LE_F4 = np.dtype("<f4")


def encode_embeddings_b64(matrix: npt.ArrayLike) -> list[str]:
    """Each row of a (rows x dims) matrix as the version 2 text: the whole matrix's
    little-endian float32 bytes made once, then one ``b2a_base64`` of each row's slice of them
    (no array or bytes object per row)."""
    data = np.ascontiguousarray(matrix, dtype=_LE_F4)
    if data.ndim != 2:
        raise ValueError(f"expected a (rows x dims) matrix, got {data.ndim} dimensions")
    if data.size == 0:
        return [""] * data.shape[0]
    width = data.shape[1] * _LE_F4.itemsize
    raw = data.data.cast("B")
    b2a = binascii.b2a_base64
    return [
        b2a(raw[start : start + width], newline=False).decode("ascii")
        for start in range(0, len(raw), width)
    ]


def decode_embedding_b64(text: object) -> FloatArray:
    """The float32 vector of a version 2 ``embedding_b64``; ``ValueError`` saying what is wrong
    with anything else: not a string, not strict base64, a length that is not whole float32s,
    more than MAX_FLOATS floats, a NaN or an infinity (one ``isfinite`` over the array)."""
    if not isinstance(text, str):
        raise ValueError(f"expected a base64 string, got {type(text).__name__}")
    if len(text) > MAX_B64_CHARS:
        raise ValueError(f"longer than {MAX_FLOATS} float32s ({len(text)} characters)")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as err:  # ValueError: a non-ASCII character
        raise ValueError(f"not strict base64 (RFC 4648, padded): {err}") from None
    if len(raw) % _LE_F4.itemsize:
        raise ValueError(f"{len(raw)} bytes: not a whole number of float32s")
    if len(raw) > MAX_FLOATS * _LE_F4.itemsize:
        raise ValueError(f"{len(raw) // _LE_F4.itemsize} float32s, more than {MAX_FLOATS}")
    # A native, writable copy (frombuffer's view of bytes is read-only).
    vector = np.frombuffer(raw, dtype=_LE_F4).astype(np.float32)
    if not np.isfinite(vector).all():
        raise ValueError("holds a NaN or an infinity")
    return vector


def embedding_form_error(schema_version: object, has_list: bool, has_b64: bool) -> str | None:
    """Why a result's embedding fields do not fit its version (None when they do): version 1
    carries ``embedding`` only, version 2 ``embedding_b64`` only (either may be absent or
    null: a model's dump writes every field)."""
    if has_b64 and schema_version == 1:
        return f"a version 1 result carries '{EMBEDDING}', not '{EMBEDDING_B64}'"
    if has_list and schema_version != 1:
        return (
            f"a version {schema_version} result carries '{EMBEDDING_B64}' (base64 of "
            f"little-endian float32), not '{EMBEDDING}'"
        )
    return None


def result_embedding(result: Mapping[str, Any] | object) -> FloatArray | None:
    """The float32 embedding of a bug_report result of either version, or None when it has
    none: ``result`` a decoded JSON object (a message's value, the lake's ``result`` column)
    or a result model (what ``inferstream.client.subscribe`` yields). ``ValueError`` for a
    malformed ``embedding_b64`` or both fields set."""
    if isinstance(result, Mapping):
        b64, floats = result.get(EMBEDDING_B64), result.get(EMBEDDING)
    else:
        b64, floats = getattr(result, EMBEDDING_B64, None), getattr(result, EMBEDDING, None)
    if b64 is not None:
        if floats is not None:
            raise ValueError(f"both '{EMBEDDING}' and '{EMBEDDING_B64}' are set")
        return decode_embedding_b64(b64)
    if floats is None:
        return None
    # A list (decoded JSON), a float32 array, or pgvector's Vector (read from Postgres).
    to_numpy = getattr(floats, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else floats, dtype=np.float32)
