"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" (the timestamp defeats replay)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Inferstream-Signature"
TIMESTAMP_HEADER = "X-Inferstream-Timestamp"
DEFAULT_TOLERANCE_S = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes,
    timestamp: int,
    body: bytes,
    signature: str,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale or future timestamps."""
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
