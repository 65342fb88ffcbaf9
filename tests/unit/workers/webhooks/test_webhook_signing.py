"""Webhook signatures: what a receiver checks (HMAC of timestamp.body, replay window)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.webhooks.signing import sign, verify

SECRET = b"s3cret-for-tests"


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=2**40))
def test_a_signed_body_verifies(body: bytes, timestamp: int) -> None:
    assert verify(SECRET, timestamp, body, sign(SECRET, timestamp, body), now=timestamp)


def test_tampering_and_replay_are_refused() -> None:
    body, ts = b'{"result_id": "a"}', 1_800_000_000
    signature = sign(SECRET, ts, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert not verify(SECRET, ts, body + b" ", signature, now=ts)
    assert not verify(b"other-secret", ts, body, signature, now=ts)
    assert not verify(SECRET, ts + 1, body, signature, now=ts)  # timestamp is signed
    assert verify(SECRET, ts, body, signature, now=ts + 300)
    assert not verify(SECRET, ts, body, signature, now=ts + 301)  # too old: a replay
    assert not verify(SECRET, ts, body, signature, now=ts - 301)


def test_the_signature_matches_a_known_answer() -> None:
    """Computed outside this code, as a receiver in another language would:
    printf '1800000000.{"result_id": "a"}' | openssl dgst -sha256 -hmac 's3cret-for-tests'"""
    expected = "sha256=d4f33fb0064f5dcd2877f4362c31dd755f231e6e474026e05ad26ef6d2041080"
    assert sign(SECRET, 1_800_000_000, b'{"result_id": "a"}') == expected
