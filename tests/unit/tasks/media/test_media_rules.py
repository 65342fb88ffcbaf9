"""The DeepDetect rules with its five error strings, and the decoders on real and damaged files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas._base import MAX_MEDIA_BYTES
from inferstream.tasks.media import rules
from inferstream.tasks.media.decode import (
    CorruptMediaError,
    decode,
    decode_video,
    probe,
    sample_indices,
)
from inferstream.training.media_samples import image_bytes, rendered_bytes, video_bytes


@pytest.mark.parametrize(
    ("filename", "size", "content_type", "error"),
    [
        ("big.jpg", MAX_MEDIA_BYTES + 1, "image/jpeg", "File too large"),
        ("empty.png", 0, "image/png", "Empty file"),
        ("../etc/passwd.jpg", 10, "image/jpeg", "Invalid filename"),
        ("noextension", 10, "image/jpeg", "Invalid filename"),
        (".hidden.png", 10, "image/png", "Invalid filename"),
        ("caf\u00e9.png", 10, "image/png", "Invalid filename"),
        ("report.pdf", 10, "image/png", "File type not allowed"),
        ("clip.gif", 10, "image/gif", "File type not allowed"),
        ("photo.jpg", 10, "video/mp4", "Invalid file type"),
        ("photo.JPG", MAX_MEDIA_BYTES, "image/jpeg", None),
        ("my photo (1).jpeg", 10, "image/jpeg", None),
        ("clip.mov", 10, "video/quicktime", None),
    ],
)
def test_reference_rules_say_the_seed_errors(
    filename: str, size: int, content_type: str, error: str | None
) -> None:
    assert rules.check_reference(filename, size, content_type) == error


def test_the_five_seed_errors() -> None:
    assert rules.SEED_ERRORS == (
        "File too large",
        "Empty file",
        "Invalid filename",
        "File type not allowed",
        "Invalid file type",
    )


@pytest.mark.parametrize(
    ("filename", "data", "error"),
    [
        ("cat.jpg", image_bytes("chelsea", "JPEG"), None),
        ("cat.png", image_bytes("chelsea", "PNG"), None),
        ("cat.webp", image_bytes("chelsea", "WEBP"), None),
        ("clip.mp4", video_bytes(6, "mp4"), None),
        ("clip.avi", video_bytes(6, "avi"), None),
        ("clip.mov", video_bytes(6, "mov"), None),
        ("cat.png", image_bytes("chelsea", "JPEG"), "Invalid file type"),  # JPEG named .png
        ("clip.mp4", image_bytes("chelsea", "PNG"), "Invalid file type"),
        ("notes.jpg", b"plain text, not an image" * 10, "Invalid file type"),
        ("empty.jpg", b"", "Empty file"),
    ],
)
def test_sniffed_type_must_match_the_extension(
    filename: str, data: bytes, error: str | None
) -> None:
    assert rules.check_bytes(filename, data) == error


def test_probe_and_decode_an_image() -> None:
    data = image_bytes("coffee", "JPEG")
    found = probe("image", data)
    assert (found.width, found.height, found.frame_count) == (600, 400, 1)
    decoded = decode("image", data, 1, 8, 160)
    assert not isinstance(decoded, str)
    assert decoded.pixels.shape == (1, 224, 224, 3)
    assert decoded.thumbnail[:2] == b"\xff\xd8"  # a JPEG


@pytest.mark.parametrize("fmt", ["mp4", "avi", "mov"])
def test_video_frames_sampled_uniformly(fmt: str) -> None:
    data = video_bytes(24, fmt)
    found = probe("video", data)
    assert found.frame_count == 24
    decoded = decode_video(data, found.frame_count, 4, 64)
    assert decoded.indices == [0, 8, 15, 23]
    assert decoded.pixels.shape == (4, 224, 224, 3)
    # Frame i is grey level 8*i: the rows are the sampled frames, in order.
    levels = [float(row.mean()) for row in decoded.pixels]
    assert levels == sorted(levels)
    assert abs(levels[-1] - 8 * 23) < 8


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("image", image_bytes("chelsea", "JPEG")[:3000]),  # truncated JPEG
        ("image", rendered_bytes(1, "PNG")[:500]),  # truncated PNG
        ("image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),  # a PNG signature and garbage
        ("video", video_bytes(24, "mp4")[:400]),  # truncated MP4
        ("video", b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 300),  # broken AVI
    ],
)
def test_corrupt_or_truncated_files_are_refused_with_a_reason(kind: str, data: bytes) -> None:
    with pytest.raises(CorruptMediaError, match=f"corrupt {kind}"):
        probe(kind, data)
    reason = decode(kind, data, 24, 4, 64)
    assert isinstance(reason, str) and reason.startswith(f"corrupt {kind}")


@given(st.integers(1, 100_000), st.integers(1, 64))
def test_sample_indices_spread_first_to_last(frame_count: int, frames: int) -> None:
    picked = sample_indices(frame_count, frames)
    assert picked[0] == 0
    assert picked == sorted(set(picked))
    assert len(picked) == min(frames, frame_count)
    if len(picked) > 1:
        assert picked[-1] == frame_count - 1
