"""The ablation's ONNX variants compute the same embeddings (only the speed may differ), the
int8 variant is a quantised graph whose worst cosine the benchmark reports, and the sink rows
fit the results table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferstream.bench import workload
from inferstream.bench.ablation import OnnxVariant, _min_cosine, quantize_int8
from inferstream.bench.sink import make_rows
from inferstream.models import ModelBundle, TextTokenizer, ensure_minilm_bundle
from inferstream.plugins import load_plugin

TEXTS = [
    "Editor crashes when saving a large file",
    "Crash on save with files over 2 GB; steps: open, edit, save. Log: SIGSEGV in writer",
    "login button does nothing",
    "The export to CSV drops the last column when a cell contains a comma inside quotes",
    "x",
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> ModelBundle:
    return ensure_minilm_bundle(tmp_path_factory.mktemp("bench-models"))


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_variants_agree(bundle: ModelBundle) -> None:
    tokenizer = TextTokenizer(bundle.tokenizer_path, bundle.max_seq_length)
    plain = OnnxVariant(bundle.onnx_path, tokenizer, optimize=False)
    opt = OnnxVariant(bundle.onnx_path, tokenizer)
    reference = plain.embed(TEXTS, 1)
    for vectors in (
        opt.embed(TEXTS, 1),
        opt.embed(TEXTS, 4, "fixed"),
        opt.embed(TEXTS, 4),
        opt.embed(TEXTS, 4, min_fill=0.95),
    ):
        assert vectors.shape == (len(TEXTS), 384)
        assert np.all(_cos(vectors, reference) > 0.9999)


def test_int8_cosine_on_bug_reports(bundle: ModelBundle, tmp_path: Path) -> None:
    tokenizer = TextTokenizer(bundle.tokenizer_path, bundle.max_seq_length)
    int8 = OnnxVariant(quantize_int8(bundle.onnx_path, tmp_path / "int8.onnx"), tokenizer)
    fp32 = OnnxVariant(bundle.onnx_path, tokenizer)
    reports = workload.texts(64)
    quantised = int8.embed(reports, 16, min_fill=0.95)
    reference = fp32.embed(reports, 16, min_fill=0.95)
    cos = _cos(quantised, reference)
    # How close int8 gets depends on the CPU's int8 kernels: over the 0.99 floor on the first
    # benchmark machine, 0.981 at worst on an AVX2-only one (docs/benchmarks.md). So the floor
    # is the benchmark's reported check (int8 stays off by default), not a property to assert;
    # asserted: it still embeds the same texts, it is really a quantised graph, and the
    # benchmark's worst-cosine figure is the worst of these.
    assert np.all(cos > 0.95)
    assert np.any(cos < 0.99999)
    assert _min_cosine(quantised, reference) == pytest.approx(float(cos.min()), abs=1e-6)
    # A one-word text drifts more: why int8 stays an option with its check, not the default.
    short = _cos(int8.embed(["x"], 1), fp32.embed(["x"], 1))
    assert short[0] < 1.0


def test_sink_rows_fit_the_table() -> None:
    table = load_plugin("bug_report").table
    rows = make_rows(3)
    assert len(rows) == 3
    assert all(len(row) == len(table.columns) for row in rows)
    assert len({row[table.columns.index("submission_id")] for row in rows}) == 3
