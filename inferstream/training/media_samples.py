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
