"""Generate the media demo's files (offline): photographs bundled in scikit-image, images and
videos rendered here, and one file for each of DeepDetect's rejection rules.

    .venv/bin/python examples/media/generate.py

writes examples/media/{photos,rendered,rejects}/ and labels.json (what each accepted file is:
"real" = camera photograph or a pan across one, "fake" = procedurally rendered). The "File too
large" case needs no file: the demo publishes a reference that declares 60 MB.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from inferstream.training.media_data import rendered_image, skimage_image
from inferstream.training.media_samples import pan_video, rendered_video

HERE = Path(__file__).resolve().parent


def save_image(image: Image.Image, path: Path, longest: int = 320) -> None:
    image = image.convert("RGB")
    image.thumbnail((longest, longest))
    fmt = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[path.suffix.lstrip(".")]
    path.write_bytes(_encode(image, fmt))


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 85} if fmt != "PNG" else {}))
    return buffer.getvalue()


def main() -> None:
    labels: dict[str, str] = {}
    photos, rendered, rejects = HERE / "photos", HERE / "rendered", HERE / "rejects"
    for folder in (photos, rendered, rejects):
        folder.mkdir(exist_ok=True)
    for name, ext in (
        ("chelsea", "jpg"),
        ("coffee", "jpg"),
        ("astronaut", "png"),
        ("rocket", "webp"),
    ):
        save_image(skimage_image(name), photos / f"{name}.{ext}", 256 if ext == "png" else 320)
        labels[f"photos/{name}.{ext}"] = "real"
    for name, fmt in (("astronaut", "mp4"), ("coffee", "mov")):
        (photos / f"pan-{name}.{fmt}").write_bytes(pan_video(name, 24, fmt))
        labels[f"photos/pan-{name}.{fmt}"] = "real"
    rng = np.random.default_rng(2026)
    for i, ext in enumerate(("png", "jpg", "webp", "png")):
        save_image(rendered_image(rng), rendered / f"rendered-{i}.{ext}")
        labels[f"rendered/rendered-{i}.{ext}"] = "fake"
    for i, fmt in enumerate(("mp4", "avi")):
        (rendered / f"moving-square-{i}.{fmt}").write_bytes(rendered_video(100 + i, 24, fmt))
        labels[f"rendered/moving-square-{i}.{fmt}"] = "fake"
    # One file per rule (and a damaged one): each ends in the dead-letter topic with its reason.
    photo = _encode(skimage_image("cat").convert("RGB"), "JPEG")
    (rejects / "empty.jpg").write_bytes(b"")  # Empty file
    logo = skimage_image("logo")
    logo.thumbnail((64, 64))
    (rejects / "animation.gif").write_bytes(_encode(logo, "GIF"))  # File type not allowed
    (rejects / "cat;x.jpg").write_bytes(photo)  # Invalid filename
    (rejects / "cat-really-a-jpeg.png").write_bytes(photo)  # Invalid file type (sniffed JPEG)
    (rejects / "truncated.jpg").write_bytes(photo[: len(photo) // 3])  # corrupt image
    (HERE / "labels.json").write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
