"""WebP's structural check (enrich's, no decode) on files of every layout Pillow writes: lossy
(VP8), lossless (VP8L), with an alpha channel (VP8X + ALPH) and animated (VP8X + ANIM + ANMF);
truncated and damaged copies, and damage to the compressed data that only infer's decode finds."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from _media_probe import refused_by_probe
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inferstream.tasks.media import webp
from inferstream.tasks.media.decode import CorruptMediaError, decode, probe
from inferstream.training.media_samples import image_bytes

PHOTO = Image.open(io.BytesIO(image_bytes("chelsea", "PNG"))).convert("RGB")


def _encoded(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", **options)
    return buffer.getvalue()


def _with_alpha() -> Image.Image:
    width, height = PHOTO.size
    alpha = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    image = PHOTO.copy()
    image.putalpha(Image.fromarray(alpha))
    return image


FILES = {
    "lossy": _encoded(PHOTO, quality=90),
    "lossless": _encoded(PHOTO, lossless=True),
    "alpha": _encoded(_with_alpha(), quality=80),
    "animated": _encoded(PHOTO, save_all=True, append_images=[PHOTO.rotate(90)], duration=100),
}
LAYOUTS = {
    "lossy": [b"VP8 "],
    "lossless": [b"VP8L"],
    "alpha": [b"VP8X", b"ALPH", b"VP8 "],
    "animated": [b"VP8X", b"ANIM", b"ANMF", b"ANMF"],
}


def _infer_reason(data: bytes) -> str | None:
    decoded = decode("image", data, 1, 1, 64)
    return decoded if isinstance(decoded, str) else None


@pytest.mark.parametrize("kind", FILES)
def test_a_well_formed_file_is_accepted_with_its_size(kind: str) -> None:
    data = FILES[kind]
    assert [c[0] for c in webp.chunks(data, 12, len(data))] == LAYOUTS[kind]
    assert webp.check(data) == PHOTO.size
    found = probe("image", data)
    assert (found.width, found.height) == PHOTO.size
    assert _infer_reason(data) is None


@pytest.mark.parametrize("kind", FILES)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_any_truncation_is_refused_by_enrich(kind: str, fraction: float) -> None:
    data = FILES[kind]
    cut = int(fraction * len(data))
    with pytest.raises(CorruptMediaError, match=r"^corrupt image: "):
        probe("image", data[:cut])


def _structure(data: bytes) -> list[int]:
    """The offsets whose every bit the check reads as structure: the RIFF header, the first
    chunk's FourCC, and a VP8 start code or a VP8L signature."""
    offsets = list(range(12)) + list(range(12, 16))
    fourcc, at, _ = webp.chunks(data, 12, len(data))[0]
    offsets += list(range(at + 3, at + 6)) if fourcc == b"VP8 " else [at]
    return offsets


@pytest.mark.parametrize("kind", ["lossy", "lossless"])
def test_every_bit_of_the_structure_is_checked(kind: str) -> None:
    data = FILES[kind]
    for at in _structure(data):
        for bit in range(8):
            damaged = data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :]
            assert refused_by_probe(damaged), (at, bit)


@pytest.mark.parametrize("kind", ["lossy", "lossless"])
@given(bit=st.integers(0, 31))
def test_a_chunk_size_beyond_the_riff_end_is_refused(kind: str, bit: int) -> None:
    data = FILES[kind]
    (size,) = struct.unpack_from("<I", data, 16)
    grown = size | (1 << bit)
    if grown == size:  # the bit was set already: this size is the file's own
        return
    damaged = data[:16] + struct.pack("<I", grown) + data[20:]
    with pytest.raises(CorruptMediaError, match="runs past the RIFF end"):
        probe("image", damaged)


def test_an_alpha_channel_with_an_invalid_header_is_refused() -> None:
    data = FILES["alpha"]
    _, at, _ = next(c for c in webp.chunks(data, 12, len(data)) if c[0] == b"ALPH")
    damaged = data[:at] + bytes([data[at] | 0xC0]) + data[at + 1 :]  # reserved bits set
    with pytest.raises(CorruptMediaError, match="ALPH header"):
        probe("image", damaged)


def test_an_animation_frame_outside_the_canvas_is_refused() -> None:
    data = FILES["animated"]
    _, at, _ = next(c for c in webp.chunks(data, 12, len(data)) if c[0] == b"ANMF")
    damaged = data[:at] + (100).to_bytes(3, "little") + data[at + 3 :]  # x = 200 px
    with pytest.raises(CorruptMediaError, match="leaves the canvas"):
        probe("image", damaged)


@pytest.mark.parametrize("kind", ["lossy", "lossless"])
def test_damaged_compressed_data_passes_enrich_and_infer_refuses_it(kind: str) -> None:
    """The one thing enrich's check leaves to infer: its decode refuses the file with a reason,
    which the inferer raises as a poison batch, dead-lettered for this record alone."""
    data = FILES[kind]
    damaged = data[:40] + b"\xff" * 64 + data[104:]
    assert not refused_by_probe(damaged)
    reason = _infer_reason(damaged)
    assert reason is not None and reason.startswith("corrupt image: ")


def test_pillows_decompression_bomb_limit_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    width, height = PHOTO.size
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", width * height)
    assert probe("image", FILES["lossy"]).width == width  # at the limit: accepted
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", width * height - 1)
    with pytest.raises(CorruptMediaError, match="decompression bomb"):
        probe("image", FILES["lossy"])


def test_not_a_webp() -> None:
    with pytest.raises(webp.WebPError, match="no RIFF/WEBP header"):
        webp.check(b"RIFF\x04\x00\x00\x00AVI ")
    with pytest.raises(webp.WebPError, match="no chunk"):
        webp.check(b"RIFF\x04\x00\x00\x00WEBP")
