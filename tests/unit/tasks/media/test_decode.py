"""The decoders on real and damaged files: enrich's probe (a cheap check: a JPEG at 1/8 scale,
a PNG's chunk CRCs, a WebP's structure), infer's one full decode and its sampling pass."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from _media_probe import refused_by_probe
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

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


JPEG = image_bytes("coffee", "JPEG")
PNG = rendered_bytes(2, "PNG")
WEBP = image_bytes("chelsea", "WEBP")


def _refused_by_infer(data: bytes) -> bool:
    return isinstance(decode("image", data, 1, 1, 64), str)


@pytest.mark.parametrize(
    ("data", "size"), [(JPEG, (600, 400)), (PNG, Image.open(io.BytesIO(PNG)).size)]
)
def test_the_probe_reports_the_stored_size_not_a_reduced_one(
    data: bytes, size: tuple[int, int]
) -> None:
    found = probe("image", data)
    assert (found.width, found.height) == size


@given(st.integers(100, len(JPEG) - 1))
def test_a_truncated_jpeg_is_refused_by_enrich_whenever_infer_would_refuse_it(cut: int) -> None:
    # Enrich decodes at 1/8 scale, infer in full: the same entropy-coded data is read.
    truncated = JPEG[:cut]
    assert refused_by_probe(truncated) == _refused_by_infer(truncated)


@given(st.integers(200, len(JPEG) - 64), st.binary(min_size=16, max_size=64))
def test_damage_in_a_jpeg_is_judged_as_infer_judges_it(at: int, junk: bytes) -> None:
    damaged = JPEG[:at] + junk + JPEG[at + len(junk) :]
    assert refused_by_probe(damaged) == _refused_by_infer(damaged)


@given(st.integers(1, len(PNG) - 1))
def test_a_truncated_png_is_refused_by_enrich_whenever_infer_would_refuse_it(cut: int) -> None:
    # Only a cut inside IEND's own CRC passes both: the image data is whole.
    truncated = PNG[:cut]
    assert refused_by_probe(truncated) == (cut < len(PNG) - 4)
    assert refused_by_probe(truncated) or not _refused_by_infer(truncated)


@given(st.integers(8, len(PNG) - 13), st.integers(1, 255))
def test_any_damaged_byte_of_a_png_is_refused_by_enrich(at: int, flip: int) -> None:
    # Every chunk's CRC-32 is checked, from IHDR to IEND (whose 12 bytes carry no data).
    damaged = PNG[:at] + bytes([PNG[at] ^ flip]) + PNG[at + 1 :]
    assert refused_by_probe(damaged)


def _png_with_bad_deflate_and_valid_crcs() -> bytes:
    """A PNG whose IDAT holds bytes that are not a deflate stream, under a correct CRC."""
    header = PNG[:8]
    ihdr_length = struct.unpack(">I", PNG[8:12])[0]
    ihdr = PNG[8 : 8 + 12 + ihdr_length]
    junk = b"\x78\x9c" + b"\xff" * 64
    idat = struct.pack(">I", len(junk)) + b"IDAT" + junk
    idat += struct.pack(">I", zlib.crc32(b"IDAT" + junk))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return header + ihdr + idat + iend


def test_a_png_with_valid_crcs_but_no_deflate_stream_is_left_to_infer() -> None:
    # The one case enrich's PNG check does not catch: infer's decode refuses it with a reason
    # (a dead letter from infer; docs/tasks/media.md).
    crafted = _png_with_bad_deflate_and_valid_crcs()
    assert not refused_by_probe(crafted)
    assert _refused_by_infer(crafted)


def test_a_webp_is_checked_by_its_structure() -> None:
    # webp.check (tests/unit/tasks/media/test_webp.py): no decode in enrich.
    assert not refused_by_probe(WEBP)
    with pytest.raises(CorruptMediaError, match="truncated"):
        probe("image", WEBP[: len(WEBP) // 2])
