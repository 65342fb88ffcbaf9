"""The GPU path's pieces that a CPU machine can check: the fp16 graph keeps the float32/int64
interface and the embeddings (cosine vs fp32), and is built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from inferstream.models import ModelBundle, TextEmbedder, ensure_minilm_bundle, make_session
from inferstream.models.minilm_onnx import ATTENTION_MASK, INPUT_IDS, OUTPUT
from inferstream.models.session import half_precision, on_gpu


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> ModelBundle:
    return ensure_minilm_bundle(tmp_path_factory.mktemp("gpu-path-models"))


def test_on_gpu() -> None:
    assert on_gpu(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert on_gpu(["TensorrtExecutionProvider"])
    assert not on_gpu(["CPUExecutionProvider"])


def test_half_precision_graph(bundle: ModelBundle, tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    shutil.copy(bundle.onnx_path, source)
    path = half_precision(source)
    assert path == tmp_path / "model.fp16.onnx"
    built = path.stat().st_mtime_ns
    assert half_precision(source) == path and path.stat().st_mtime_ns == built  # reused
    model = onnx.load(str(path))
    kinds = {i.data_type for i in model.graph.initializer}
    assert onnx.TensorProto.FLOAT16 in kinds
    assert [i.type.tensor_type.elem_type for i in model.graph.input] == [onnx.TensorProto.INT64] * 2
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT

    embedder = TextEmbedder(bundle, providers=["CPUExecutionProvider"])
    ids, mask = embedder.tokenizer.encode(["editor crashes on save", "login button does nothing"])
    half = make_session(path, ["CPUExecutionProvider"])
    (a,) = half.run([OUTPUT], {INPUT_IDS: ids, ATTENTION_MASK: mask})
    b = embedder.embed(["editor crashes on save", "login button does nothing"])
    assert a.dtype == np.float32
    assert np.all(np.sum(a * b, axis=1) > 0.999)
