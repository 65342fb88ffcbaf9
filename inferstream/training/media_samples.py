"""Small real media files, generated offline: JPEG/PNG/WebP photographs from scikit-image,
procedurally rendered images, and short videos encoded with PyAV (tests, examples, benchmarks)."""

from __future__ import annotations

import io

import av
import numpy as np

from inferstream.training.media_data import rendered_image, skimage_image


def image_bytes(name: str = "chelsea", fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    skimage_image(name).save(buffer, format=fmt)
    return buffer.getvalue()


def rendered_bytes(seed: int = 0, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    rendered_image(np.random.default_rng(seed)).save(buffer, format=fmt)
    return buffer.getvalue()


def video_bytes(frames: int = 24, fmt: str = "mp4", size: tuple[int, int] = (96, 64)) -> bytes:
    """A short video whose frame i is filled with grey level 8*i (so a frame says its index)."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            array = np.full((height, width, 3), min(255, 8 * i), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _encode_video(frames: list[np.ndarray], fmt: str, rate: int = 12) -> bytes:
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def pan_video(
    photo: str, frames: int = 24, fmt: str = "mp4", size: tuple[int, int] = (192, 144)
) -> bytes:
    """A camera-like pan across one of scikit-image's photographs."""
    image = np.asarray(skimage_image(photo))
    width, height = size
    span_x, span_y = image.shape[1] - width, image.shape[0] - height
    steps = [
        image[int(span_y * i / frames) :][:height, int(span_x * i / frames) :][:, :width]
        for i in range(frames)
    ]
    return _encode_video([np.ascontiguousarray(s) for s in steps], fmt)


def rendered_video(
    seed: int, frames: int = 24, fmt: str = "mp4", size: tuple[int, int] = (192, 144)
) -> bytes:
    """A rendered background with a flat-colour square moving across it."""
    rng = np.random.default_rng(seed)
    width, height = size
    background = np.asarray(rendered_image(rng).convert("RGB").resize(size))
    colour = rng.integers(0, 256, 3).astype(np.uint8)
    out = []
    for i in range(frames):
        frame = background.copy()
        x, y = int((width - 40) * i / frames), int((height - 40) * (frames - i) / frames)
        frame[y : y + 40, x : x + 40] = colour
        out.append(frame)
    return _encode_video(out, fmt)
