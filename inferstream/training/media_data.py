"""The real/fake data set of the media head, built offline.

"real": crops of the camera photographs bundled in scikit-image (portrait, cat, coffee, rocket,
coins, moon, bricks, grass, ... plus microscope and telescope photographs). "fake": images
rendered procedurally here (gradients, smooth value noise, stripes, flat-colour shapes, blurred
or not, some greyscale). Both classes go through the same augmentation (random crop and scale,
flips, sometimes greyscale, JPEG re-encoding at quality 60-95), so the head cannot separate
them by file format or colour alone.

The held-out split is by source: whole photographs the head never saw, and rendered images from
another random seed. A second, out-of-distribution check uses scikit-image's own synthetic
images (colour wheel, logo, checkerboard, blobs, phantom, horse silhouette), which no generator
here draws. What the head detects is therefore "procedural / rendered graphics vs camera
photograph"; it is not a detector of GAN or diffusion images, which this data set does not
contain.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from inferstream.models.media import to_pixels

# Camera (and microscope / telescope) photographs shipped in the scikit-image wheel.
TRAIN_PHOTOS = (
    "astronaut",
    "camera",
    "cat",
    "coins",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "brick",
    "grass",
    "clock",
    "page",
    "text",
    "cell",
)
HELD_OUT_PHOTOS = ("coffee", "moon", "gravel", "rocket")
# scikit-image's synthetic images: never drawn by the generator below (out-of-distribution).
SKIMAGE_SYNTHETIC = (
    "colorwheel",
    "logo",
    "checkerboard",
    "binary_blobs",
    "shepp_logan_phantom",
    "horse",
)


def skimage_image(name: str) -> Image.Image:
    """One of scikit-image's bundled images as RGB (greyscale, boolean and float ones too)."""
    from skimage import data  # training dependency only

    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        array = ((array - low) / max(high - low, 1e-9) * 255).astype(np.uint8)
    image = Image.fromarray(array)
    return image.convert("RGB")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return r, g, b


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    kind = int(rng.integers(0, 5))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    c0 = np.asarray(_colour(rng), np.float32)
    c1 = np.asarray(_colour(rng), np.float32)
    if kind == 0:  # flat colour
        t = np.zeros((height, width), np.float32)
    elif kind == 1:  # linear gradient
        angle = rng.uniform(0, np.pi)
        t = x * np.cos(angle) + y * np.sin(angle)
    elif kind == 2:  # radial gradient
        t = np.hypot(x - rng.uniform(0, width), y - rng.uniform(0, height))
    elif kind == 3:  # stripes / rings
        t = np.sin((x * rng.uniform(-0.2, 0.2) + y * rng.uniform(-0.2, 0.2)) * rng.uniform(0.2, 2))
    else:  # smooth value noise: a coarse random grid upsampled
        cells = int(rng.integers(3, 12))
        grid = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
        t = np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), np.float32)
    span = float(t.max() - t.min())
    t = (t - t.min()) / span if span > 0 else t
    rgb = c0 + (c1 - c0) * t[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def rendered_image(rng: np.random.Generator) -> Image.Image:
    """One procedurally rendered image: a background and 0-15 flat-colour shapes."""
    width, height = (int(v) for v in rng.integers(200, 640, 2))
    image = _background(rng, width, height)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 16))):
        box = sorted(rng.integers(0, width, 2)), sorted(rng.integers(0, height, 2))
        xy = (int(box[0][0]), int(box[1][0]), int(box[0][1]) + 1, int(box[1][1]) + 1)
        shape = int(rng.integers(0, 4))
        if shape == 0:
            draw.rectangle(xy, fill=_colour(rng))
        elif shape == 1:
            draw.ellipse(xy, fill=_colour(rng))
        elif shape == 2:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(5)]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line(xy, fill=_colour(rng), width=int(rng.integers(1, 12)))
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 4))))
    if rng.random() < 0.3:
        noise = rng.normal(0, rng.uniform(2, 12), (height, width, 3))
        image = Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))
    return image


def augment(image: Image.Image, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """A random crop (30-100 % of the side), flip, sometimes greyscale, JPEG re-encode; then the
    served preprocessing (:func:`to_pixels`)."""
    width, height = image.size
    side = int(min(width, height) * rng.uniform(0.3, 1.0))
    left = int(rng.integers(0, width - side + 1))
    top = int(rng.integers(0, height - side + 1))
    crop = image.crop((left, top, left + side, top + side))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.2:
        crop = crop.convert("L").convert("RGB")
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", quality=int(rng.integers(60, 96)))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return to_pixels(decoded)


@dataclass(frozen=True)
class Split:
    pixels: npt.NDArray[np.uint8]  # [n, 224, 224, 3]
    labels: npt.NDArray[np.int64]  # 1 = fake (rendered), 0 = real (photograph)


def _photo_crops(
    names: tuple[str, ...], per_photo: int, rng: np.random.Generator
) -> Iterator[npt.NDArray[np.uint8]]:
    for name in names:
        photo = skimage_image(name)
        for _ in range(per_photo):
            yield augment(photo, rng)


def build_split(photos: tuple[str, ...], per_photo: int, rendered: int, seed: int) -> Split:
    """``per_photo`` crops of each photograph and ``rendered`` rendered images."""
    rng = np.random.default_rng(seed)
    real = list(_photo_crops(photos, per_photo, rng))
    fake = [augment(rendered_image(rng), rng) for _ in range(rendered)]
    labels = np.asarray([0] * len(real) + [1] * len(fake), dtype=np.int64)
    return Split(np.stack(real + fake), labels)


def skimage_synthetic(per_image: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    crops = list(_photo_crops(SKIMAGE_SYNTHETIC, per_image, rng))
    return Split(np.stack(crops), np.ones(len(crops), dtype=np.int64))
