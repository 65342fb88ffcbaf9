"""Decoding (pure functions, run in the decode process pool): Pillow for images, PyAV for video.

Each function takes the stored bytes and gives the model input (uint8 ``[n, 224, 224, 3]``,
inferstream.models.media.to_pixels) and a JPEG thumbnail, or raises :class:`CorruptMediaError`
with a reason. Video: ``frames`` frames sampled uniformly over the stream (first and last
included), decoded in one sequential pass that stops after the last one needed.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from inferstream.models.media import INPUT_SIZE, to_pixels
from inferstream.tasks.media import webp

# Pillow refuses (instead of warning about) images past its decompression-bomb limit.
_PIL_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError)


class CorruptMediaError(ValueError):
    """The bytes do not decode as the image or video they claim to be."""


@dataclass(frozen=True)
class Probe:
    """What enrich learns from its check (and what infer's sampler needs)."""

    width: int
    height: int
    frame_count: int  # 1 for images; a video's from its headers (counted when absent)
    duration_s: float  # 0 for images


@dataclass(frozen=True)
class Decoded:
    pixels: npt.NDArray[np.uint8]  # [n, INPUT_SIZE, INPUT_SIZE, 3]
    indices: list[int]  # frame index of each row (0 for an image)
    timestamps: list[float]  # seconds (0 for an image)
    thumbnail: bytes  # JPEG


def _open_image(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format == "JPEG":
                # Decode at the smallest power-of-two scale still >= twice the model input.
                image.draft("RGB", (2 * INPUT_SIZE, 2 * INPUT_SIZE))
            image.load()  # a truncated or damaged file fails here
        except (*_PIL_ERRORS, Image.DecompressionBombWarning) as err:
            raise CorruptMediaError(f"corrupt image: {err}") from None
    return image


def _check_image(data: bytes) -> Probe:
    """The header (size; a decompression bomb fails here), then a check cheaper than a decode:
    - JPEG: decoded at 1/8 scale (``draft``). libjpeg still entropy-decodes every block, so a
      truncated or damaged file fails as in a full decode; only the inverse DCT and colour
      conversion run on 1/64 of the pixels.
    - PNG: ``verify``: every chunk to IEND with its CRC-32, so truncation and damaged bytes
      fail without inflating. Not checked: a deflate stream that is invalid under a valid CRC
      (an encoder's bug or a crafted file); infer's decode fails on it, a dead letter from
      infer with the reason.
    - WebP (no reduced decode in Pillow): see _check_webp."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _check_webp(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if image.format == "PNG":
                image.verify()
            elif image.format != "WEBP":
                if image.format == "JPEG":
                    image.draft(None, (1, 1))  # the smallest scale libjpeg offers
                image.load()
        except (*_PIL_ERRORS, Image.DecompressionBombWarning) as err:
            raise CorruptMediaError(f"corrupt image: {err}") from None
    return Probe(width, height, 1, 0.0)


def _check_webp(data: bytes) -> Probe:
    """Its structure, without decoding and without Pillow (``webp.check``: the RIFF container,
    every chunk's size, the VP8/VP8L/VP8X headers and sizes), so truncation and damaged headers
    fail. Pillow's open is skipped: it builds libwebp's animation decoder, whose cost grows
    with the canvas (0.2-0.3 ms at 640x480, 3.6 ms at 2000x1500 in
    benchmarks/media_decode_cpu.py). The decompression-bomb limit is Pillow's, applied to the
    canvas size as Pillow's open applies it.
    Not checked: the compressed data; infer's decode refuses what it cannot decode (a dead
    letter from infer with the reason)."""
    try:
        width, height = webp.check(data)
    except webp.WebPError as err:
        raise CorruptMediaError(f"corrupt image: {err}") from None
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise CorruptMediaError(
            f"corrupt image: {width}x{height} pixels exceed the limit of {limit} pixels "
            "(a possible decompression bomb)"
        )
    return Probe(width, height, 1, 0.0)


def thumbnail(image: Image.Image, longest: int) -> bytes:
    copy = image.convert("RGB")
    copy.thumbnail((longest, longest), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def probe(kind: str, data: bytes) -> Probe:
    """Enrich's check, cheap enough to leave the one full decode to infer. An image: see
    _check_image. A video is opened (container and stream headers), its first frame decoded
    and its last group of pictures (seek to the last keyframe, decode to the end). A truncated
    MP4/MOV loses its index and fails to open; one damaged in the middle passes here and fails
    in infer's sampling pass, which decodes every frame up to the last one sampled, so it still
    ends as a dead letter with the reason."""
    if kind == "image":
        return _check_image(data)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise CorruptMediaError("corrupt video: no video stream")
            return _probe_video(container, container.streams.video[0], data)
    except CorruptMediaError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, StopIteration) as err:
        raise CorruptMediaError(f"corrupt video: {err}") from None


def _probe_video(container: Any, stream: Any, data: bytes) -> Probe:
    first = next(iter(container.decode(stream)), None)
    if first is None:
        raise CorruptMediaError("corrupt video: no decodable frame")
    # Seek to the last keyframe at or before the stream's end, then decode to the end.
    end = stream.duration or 0
    container.seek(end, stream=stream, backward=True, any_frame=False)
    last = None
    for frame in container.decode(stream):
        last = frame
    if last is None:
        raise CorruptMediaError("corrupt video: no decodable frame at the end (truncated?)")
    duration = max(0.0, float(last.time or 0.0))
    count = int(stream.frames or 0)
    if count <= 0 and stream.average_rate:
        count = round(duration * float(stream.average_rate)) + 1
    if count <= 0:
        count = _count_frames(data)  # no frame count in the headers: count them
    return Probe(first.width, first.height, count, duration)


def _count_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), mode="r") as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def sample_indices(frame_count: int, frames: int) -> list[int]:
    """``frames`` indices spread uniformly over ``frame_count`` frames (fewer when the video
    has fewer), first and last included, ascending, distinct."""
    if frame_count <= 0:
        return []
    wanted = min(frames, frame_count)
    if wanted == 1:
        return [0]
    spaced = np.linspace(0, frame_count - 1, wanted)
    return sorted({round(float(v)) for v in spaced})


def decode_image(data: bytes, thumb_px: int) -> Decoded:
    image = _open_image(data)
    return Decoded(to_pixels(image)[None], [0], [0.0], thumbnail(image, thumb_px))


def decode_video(data: bytes, frame_count: int, frames: int, thumb_px: int) -> Decoded:
    targets = sample_indices(frame_count, frames)
    wanted = set(targets)
    rows: list[npt.NDArray[np.uint8]] = []
    indices: list[int] = []
    times: list[float] = []
    thumb = b""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    image = frame.to_image()  # type: ignore[no-untyped-call]
                    rows.append(to_pixels(image))
                    indices.append(index)
                    times.append(float(frame.time or 0.0))
                    thumb = thumb or thumbnail(image, thumb_px)
                if index >= targets[-1]:
                    break
    except (av.FFmpegError, OSError, ValueError, EOFError, IndexError) as err:
        raise CorruptMediaError(f"corrupt video: {err}") from None
    if not rows:
        raise CorruptMediaError("corrupt video: no decodable frame")
    return Decoded(np.stack(rows), indices, times, thumb)


def decode(kind: str, data: bytes, frame_count: int, frames: int, thumb_px: int) -> Decoded | str:
    """Pool entry point: the decoded item, or the reason it does not decode (a value, so one
    bad file does not fail the pool's whole map)."""
    try:
        if kind == "image":
            return decode_image(data, thumb_px)
        return decode_video(data, frame_count, frames, thumb_px)
    except CorruptMediaError as err:
        return str(err)
