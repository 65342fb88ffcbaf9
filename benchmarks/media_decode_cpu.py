"""Micro-benchmark: CPU per image of media's two decode steps, enrich's check then infer's
decode, with enrich's check as it was (a full decode) and as it is (a cheap check).

`python benchmarks/media_decode_cpu.py [N]` (default 20 images per case). Best of 3 passes,
the two checks alternated in each, CPU milliseconds per image (time.process_time), one
process (in the pipeline each step runs in its own process: enrich's threads, infer's decode
pool):

- ``before``: enrich decoded the image in full (JPEG via ``draft`` at >= 448 px, as infer
  does: ``decode._open_image``, unchanged and still infer's first step);
- ``after``: ``decode.probe`` (JPEG at 1/8 scale, PNG by its chunk CRCs, WebP by its RIFF
  structure and bitstream headers: ``webp.check``, no decode);
- ``infer``: ``decode.decode_image``: the one full decode, the 224x224 model input and the
  thumbnail, the same before and after.

Images: rendered ones (the media benchmark's generator: ``inferstream bench media``) and a
photograph (scikit-image's ``coffee``), resized to each side, saved as JPEG (quality 90), PNG
and WebP (quality 90).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from inferstream.tasks.media.decode import _open_image, decode_image, probe
from inferstream.training.media_data import rendered_image
from inferstream.training.media_samples import skimage_image

SIDES = (640, 2000)
FORMATS = ("JPEG", "PNG", "WEBP")


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({} if fmt == "PNG" else {"quality": 90}))
    return buffer.getvalue()


def _cases(n: int) -> dict[str, list[bytes]]:
    sources = {
        "rendered": [rendered_image(np.random.default_rng(10_000 + i)) for i in range(n)],
        "photo": [skimage_image("coffee").convert("RGB")] * n,
    }
    cases: dict[str, list[bytes]] = {}
    for name, images in sources.items():
        for side in SIDES:
            resized = [i.resize((side, side * 3 // 4)) for i in images]
            for fmt in FORMATS:
                cases[f"{name} {side}x{side * 3 // 4} {fmt}"] = [_encoded(i, fmt) for i in resized]
    return cases


def _cpu_ms(step: Callable[[bytes], object], blobs: list[bytes]) -> float:
    started = time.process_time()
    for blob in blobs:
        step(blob)
    return (time.process_time() - started) * 1000 / len(blobs)


def main(n: int) -> None:
    steps: dict[str, Callable[[bytes], object]] = {
        "before": _open_image,
        "after": lambda b: probe("image", b),
        "infer": lambda b: decode_image(b, 160),
    }
    print("| image | enrich before | enrich after | infer | enrich+infer before -> after |")
    print("|---|---|---|---|---|")
    for name, blobs in _cases(n).items():
        best = {step: min(_cpu_ms(fn, blobs) for _ in range(3)) for step, fn in steps.items()}
        before, after = best["before"] + best["infer"], best["after"] + best["infer"]
        print(
            f"| {name} | {best['before']:.2f} | {best['after']:.2f} | {best['infer']:.2f} "
            f"| {before:.2f} -> {after:.2f} ({after / before:.2f}x) |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
