"""The decoders on real and damaged files: enrich's probe, infer's sampling pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.media.decode import (
    CorruptMediaError,
    decode,
    decode_video,
    probe,
    sample_indices,
)
from inferstream.training.media_samples import image_bytes, rendered_bytes, video_bytes


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


def damaged_in_the_middle(data: bytes) -> bytes:
    """The container's headers and index intact, 2,000 bytes of frame data overwritten."""
    middle = len(data) // 2
    return data[:middle] + b"\xff" * 2000 + data[middle + 2000 :]


@pytest.mark.parametrize("fmt", ["mp4", "mov"])
def test_video_is_decoded_in_full_once_by_infer_not_by_enrich(fmt: str) -> None:
    """Enrich's probe reads the headers, the first frame and the last group of pictures; the
    damage in the middle is found by infer's sampling pass, as a reason (a dead letter)."""
    data = damaged_in_the_middle(video_bytes(240, fmt))
    found = probe("video", data)
    assert found.frame_count == 240
    assert abs(found.duration_s - 239 / 12) < 0.01
    reason = decode("video", data, found.frame_count, 8, 64)
    assert isinstance(reason, str) and reason.startswith("corrupt video")


@pytest.mark.parametrize("fmt", ["mp4", "avi", "mov"])
def test_probe_gives_the_sampler_the_frame_count_and_duration(fmt: str) -> None:
    found = probe("video", video_bytes(36, fmt))
    assert (found.width, found.height, found.frame_count) == (96, 64, 36)
    assert abs(found.duration_s - 35 / 12) < 0.01


@given(st.integers(1, 100_000), st.integers(1, 64))
def test_sample_indices_spread_first_to_last(frame_count: int, frames: int) -> None:
    picked = sample_indices(frame_count, frames)
    assert picked[0] == 0
    assert picked == sorted(set(picked))
    assert len(picked) == min(frames, frame_count)
    if len(picked) > 1:
        assert picked[-1] == frame_count - 1
