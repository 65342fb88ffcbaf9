"""A WebP file's structure, checked without decoding it (enrich's check; infer decodes once).

What is checked, after the WebP container specification (RIFF, "WebP Container Specification"):
- the RIFF header (``RIFF``, a size the file holds, ``WEBP``): a truncated file fails here, since
  the RIFF size then says more bytes than were stored (bytes after the RIFF chunk are ignored,
  as libwebp ignores them);
- every chunk's header and size to the end of the RIFF chunk (a chunk running past it fails);
- the image bitstream headers: VP8 (lossy) key frame tag, start code, first partition inside the
  chunk, width and height; VP8L (lossless) signature, version, width and height; an alpha
  channel's (ALPH) header byte;
- the extended format (VP8X): canvas size, one still image whose bitstream is the canvas size,
  or, with the animation flag, an ANIM chunk and frames (ANMF) that each hold a bitstream of
  their declared size inside the canvas.

Not checked: the compressed data itself (a VP8 partition, a VP8L Huffman stream, compressed
alpha), nor whether the size a simple (not VP8X) file's bitstream header states is the size its
data encodes: only decoding can tell. Damage there passes enrich; infer's decode then refuses
it (a dead letter from infer with the reason) or, where the damaged data still decodes (VP8's
arithmetic coder notices only some damage), gives damaged pixels, as any decoder would.
"""

from __future__ import annotations

import struct

_CHUNK_HEADER = 8
_ANMF_HEADER = 16
_MAX_CANVAS_SIDE = 1 << 24  # VP8X stores width - 1 and height - 1 in 24 bits
_MAX_CANVAS_PIXELS = (1 << 32) - 1


class WebPError(ValueError):
    """The bytes are not a well-formed WebP file; the message says where."""


def _u24(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 3], "little")


def chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(FourCC, payload start, payload size) of each chunk in ``data[start:end]``, in order."""
    found: list[tuple[bytes, int, int]] = []
    at = start
    while at < end:
        if at + _CHUNK_HEADER > end:
            raise WebPError(f"chunk header at byte {at} runs past the RIFF end ({end})")
        fourcc = data[at : at + 4]
        (size,) = struct.unpack_from("<I", data, at + 4)
        payload = at + _CHUNK_HEADER
        if payload + size > end:
            raise WebPError(f"chunk {fourcc!r} of {size} bytes runs past the RIFF end ({end})")
        found.append((fourcc, payload, size))
        at = payload + size + (size & 1)  # chunks are padded to an even size
    return found


def vp8_size(data: bytes, at: int, size: int) -> tuple[int, int]:
    """A lossy bitstream's frame header (RFC 6386 section 9.1): its width and height."""
    if size < 10:
        raise WebPError(f"VP8 chunk of {size} bytes is shorter than its frame header")
    tag = _u24(data, at)
    if tag & 1:
        raise WebPError("VP8 bitstream is not a key frame")
    if (tag >> 1) & 7 > 3:
        raise WebPError(f"VP8 profile {(tag >> 1) & 7} is not 0-3")
    if not (tag >> 4) & 1:
        raise WebPError("VP8 frame is not shown")
    if (tag >> 5) >= size - 10:
        raise WebPError(f"VP8 first partition ({tag >> 5} bytes) runs past its chunk ({size})")
    if data[at + 3 : at + 6] != b"\x9d\x01\x2a":
        raise WebPError("VP8 start code missing")
    width, height = struct.unpack_from("<HH", data, at + 6)
    return _nonzero("VP8", width & 0x3FFF, height & 0x3FFF)


def vp8l_size(data: bytes, at: int, size: int) -> tuple[int, int]:
    """A lossless bitstream's header (signature 0x2f, 14-bit sizes - 1, version 0)."""
    if size < 5:
        raise WebPError(f"VP8L chunk of {size} bytes is shorter than its header")
    if data[at] != 0x2F:
        raise WebPError("VP8L signature missing")
    (bits,) = struct.unpack_from("<I", data, at + 1)
    if bits >> 29:
        raise WebPError(f"VP8L version {bits >> 29} is not 0")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


def _nonzero(what: str, width: int, height: int) -> tuple[int, int]:
    if width == 0 or height == 0:
        raise WebPError(f"{what} size {width}x{height}")
    return width, height


def _bitstream(data: bytes, found: list[tuple[bytes, int, int]], where: str) -> tuple[int, int]:
    """The size of the one image bitstream (VP8 or VP8L) among ``found``."""
    images = [c for c in found if c[0] in (b"VP8 ", b"VP8L")]
    if len(images) != 1:
        raise WebPError(f"{where} holds {len(images)} image bitstreams, not 1")
    fourcc, at, size = images[0]
    found_size = vp8_size(data, at, size) if fourcc == b"VP8 " else vp8l_size(data, at, size)
    for _, alpha_at, alpha_size in (c for c in found if c[0] == b"ALPH"):
        _alpha(data, alpha_at, alpha_size, found_size)
    return found_size


def _alpha(data: bytes, at: int, size: int, image: tuple[int, int]) -> None:
    """An ALPH chunk's header byte (as libwebp's ALPHInit reads it) and, uncompressed, its size."""
    if size < 1:
        raise WebPError("empty ALPH chunk")
    method, pre_processing, reserved = data[at] & 3, (data[at] >> 4) & 3, data[at] >> 6
    if method > 1 or pre_processing > 1 or reserved:
        raise WebPError(f"ALPH header byte {data[at]:#04x} is not a valid alpha header")
    if method == 0 and size - 1 < image[0] * image[1]:
        raise WebPError(f"uncompressed ALPH of {size - 1} bytes for {image[0]}x{image[1]} pixels")


def _frames(data: bytes, found: list[tuple[bytes, int, int]], canvas: tuple[int, int]) -> None:
    """An animation: its ANIM chunk, then each ANMF frame inside the canvas, of its size."""
    if not any(c[0] == b"ANIM" and c[2] >= 6 for c in found):
        raise WebPError("animated WebP without an ANIM chunk")
    frames = [c for c in found if c[0] == b"ANMF"]
    if not frames:
        raise WebPError("animated WebP without a frame")
    for index, (_, at, size) in enumerate(frames):
        if size < _ANMF_HEADER:
            raise WebPError(f"frame {index} of {size} bytes is shorter than its header")
        x, y = 2 * _u24(data, at), 2 * _u24(data, at + 3)
        width, height = _u24(data, at + 6) + 1, _u24(data, at + 9) + 1
        if x + width > canvas[0] or y + height > canvas[1]:
            raise WebPError(f"frame {index} ({width}x{height} at {x},{y}) leaves the canvas")
        inner = chunks(data, at + _ANMF_HEADER, at + size)
        if _bitstream(data, inner, f"frame {index}") != (width, height):
            raise WebPError(f"frame {index}'s bitstream is not its declared {width}x{height}")


def _extended(data: bytes, found: list[tuple[bytes, int, int]]) -> tuple[int, int]:
    _, at, size = found[0]
    if size < 10:
        raise WebPError(f"VP8X chunk of {size} bytes, not 10")
    canvas = (_u24(data, at + 4) + 1, _u24(data, at + 7) + 1)
    if canvas[0] * canvas[1] > _MAX_CANVAS_PIXELS:
        raise WebPError(f"canvas {canvas[0]}x{canvas[1]} exceeds 2^32 - 1 pixels")
    if data[at] & 0x02:  # the animation flag
        _frames(data, found[1:], canvas)
    elif _bitstream(data, found[1:], "the file") != canvas:
        raise WebPError(f"image bitstream is not the canvas size {canvas[0]}x{canvas[1]}")
    return canvas


def check(data: bytes) -> tuple[int, int]:
    """The canvas width and height of a well-formed WebP file, else :class:`WebPError`."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WebPError("no RIFF/WEBP header")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise WebPError(f"RIFF size {riff_size + 8} bytes, {len(data)} stored (truncated)")
    found = chunks(data, 12, riff_size + 8)
    if not found:
        raise WebPError("no chunk in the RIFF")
    first = found[0][0]
    if first == b"VP8X":
        return _extended(data, found)
    if first not in (b"VP8 ", b"VP8L"):
        raise WebPError(f"first chunk {first!r} is not VP8, VP8L or VP8X")
    return _bitstream(data, found[:1], "the file")
