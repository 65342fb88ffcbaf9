"""The media bundle: EfficientNet-Lite0 exported with a dynamic batch axis, ImageNet top-k from
the pretrained weights, and a real/fake head trained on the project's offline data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _small_media import small_media_models
from PIL import Image

from inferstream.models.media import INPUT_SIZE, MediaModel, to_pixels
from inferstream.training import media_data


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Trained once per test run and shared with the media pipeline's tests (_small_media).
    directory, metrics = small_media_models(tmp_path_factory)
    held_out = metrics["held_out"]
    # Better than the 50 % of a constant or random head on the balanced held-out split.
    assert held_out["accuracy"] > 0.7, metrics
    assert held_out["roc_auc"] > 0.8, metrics
    assert metrics["onnx_head_max_abs_diff"] < 1e-4
    return directory


@pytest.fixture(scope="module")
def model(models_dir: Path) -> MediaModel:
    return MediaModel(models_dir, providers=["CPUExecutionProvider"])


def test_to_pixels_is_the_model_input() -> None:
    wide = Image.new("RGB", (640, 300), (10, 20, 30))
    pixels = to_pixels(wide.convert("L"))
    assert pixels.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    assert pixels.dtype == np.uint8


def test_pretrained_backbone_names_what_a_photo_shows(model: MediaModel) -> None:
    scores = model.run(to_pixels(media_data.skimage_image("chelsea"))[None])
    labels = [label for label, _ in model.top_k(scores.imagenet[0], 3)]
    assert any("cat" in label for label in labels), labels
    assert abs(float(scores.imagenet[0].sum()) - 1.0) < 1e-3


def test_batch_axis_is_dynamic_and_items_independent(model: MediaModel) -> None:
    rng = np.random.default_rng(5)
    images = [media_data.rendered_image(rng) for _ in range(4)]
    images.append(media_data.skimage_image("coffee"))
    batch = np.stack([to_pixels(i) for i in images])
    together = model.run(batch)
    for i in range(len(images)):
        alone = model.run(batch[i : i + 1])
        assert np.allclose(alone.fake_probability, together.fake_probability[i], atol=1e-4)
        assert np.allclose(alone.imagenet, together.imagenet[i], atol=1e-4)


def test_head_separates_rendered_images_from_photographs(model: MediaModel) -> None:
    rng = np.random.default_rng(99)
    rendered = np.stack([to_pixels(media_data.rendered_image(rng)) for _ in range(16)])
    photos = np.stack([to_pixels(media_data.skimage_image(n)) for n in media_data.HELD_OUT_PHOTOS])
    fake_rendered = model.run(rendered).fake_probability
    fake_photos = model.run(photos).fake_probability
    assert float(np.median(fake_rendered)) > float(np.median(fake_photos))


def test_metadata_says_what_the_head_detects(model: MediaModel) -> None:
    assert "procedurally rendered" in str(model.metadata["detects"])
    assert len(model.labels) == 1000 and model.labels[0] == "tench"


def test_gpu_providers_serve_the_fp16_graph(models_dir: Path, model: MediaModel) -> None:
    """The GPU path's precision choice: CUDA first means the fp16 copy of the graph, with the
    same uint8 input and float32 outputs. This CPU-only onnxruntime falls back to its CPU
    provider, so the fp16 graph itself runs here and must agree with fp32."""
    gpu = MediaModel(models_dir, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert gpu.gpu and not model.gpu
    assert gpu.graph.name.endswith(".fp16.onnx") and not model.graph.name.endswith(".fp16.onnx")
    photos = np.stack([to_pixels(media_data.skimage_image(n)) for n in ("chelsea", "coffee")])
    half, full = gpu.run(photos), model.run(photos)
    assert half.imagenet.dtype == np.float32 and half.fake_probability.dtype == np.float32
    assert np.abs(half.imagenet - full.imagenet).max() < 0.01
    assert np.abs(half.fake_probability - full.fake_probability).max() < 0.02
    assert model.top_k(half.imagenet[0], 1)[0][0] == model.top_k(full.imagenet[0], 1)[0][0]
