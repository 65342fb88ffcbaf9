"""Where the gain over the naive worker comes from: the same texts through each step from
per-text sentence-transformers (torch) to our bucketed ONNX batches, in one process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.bench.harness import models_cache
from inferstream.models import (
    TextTokenizer,
    ensure_minilm_bundle,
    make_session,
    minilm_weights_dir,
    plan_buckets,
)
from inferstream.models.embedder import cpu_cores
from inferstream.models.minilm_onnx import ATTENTION_MASK, INPUT_IDS, OUTPUT

Vectors = npt.NDArray[np.float32]
COSINE_FLOOR = 0.99
FIXED_PAD = 128  # what the packaged tokenizer.json pads every text to


@dataclass(frozen=True)
class Step:
    name: str
    texts: int
    seconds: float
    min_cosine: float | None = None  # vs the fp32 ONNX embeddings, where it matters

    @property
    def rate(self) -> float:
        return self.texts / self.seconds


def _timed(
    name: str, texts: Sequence[str], fn: Callable[[Sequence[str]], Vectors]
) -> tuple[Step, Vectors]:
    fn(texts[:8])  # warm-up
    started = time.perf_counter()
    out = fn(texts)
    return Step(name, len(texts), time.perf_counter() - started), out


def _min_cosine(a: Vectors, b: Vectors) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


class OnnxVariant:
    """Our graph with one optimisation toggled at a time. ``calls`` > 1: that many
    single-thread calls at once on the length buckets (with ``min_fill``), as the embedder."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer: TextTokenizer,
        optimize: bool = True,
        calls: int = 1,
    ) -> None:
        self.session = make_session(
            onnx_path, ["CPUExecutionProvider"], 1 if calls > 1 else None, optimize=optimize
        )
        self.tokenizer = tokenizer
        self.calls = calls
        self.pool = ThreadPoolExecutor(calls) if calls > 1 else None

    def embed(
        self,
        texts: Sequence[str],
        batch: int,
        padding: str = "dynamic",
        min_fill: float | None = None,
    ) -> Vectors:
        """padding 'fixed' (every text to FIXED_PAD) or 'dynamic' (to the batch's longest);
        min_fill not None: sort each batch by length and cut buckets (ours)."""
        out = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), batch):
            ids = self.tokenizer.encode_ids(texts[start : start + batch])
            if min_fill is None:
                groups = [list(range(len(ids)))]
            else:
                lengths = [len(r) for r in ids]
                groups = plan_buckets(lengths, batch, batch * 256, min_fill, self.calls)
            feeds = []
            for group in groups:
                rows = [ids[i] for i in group]
                input_ids, mask = self.tokenizer.pad(rows)
                if padding == "fixed" and input_ids.shape[1] < FIXED_PAD:
                    extra = FIXED_PAD - input_ids.shape[1]
                    input_ids = np.pad(
                        input_ids, ((0, 0), (0, extra)), constant_values=self.tokenizer.pad_id
                    )
                    mask = np.pad(mask, ((0, 0), (0, extra)))
                feeds.append({INPUT_IDS: input_ids, ATTENTION_MASK: mask})
            mapper = self.pool.map if self.pool is not None else map
            for group, (result,) in zip(
                groups, mapper(lambda f: self.session.run([OUTPUT], f), feeds), strict=True
            ):
                out[[start + i for i in group]] = result
        return out


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8, per-channel, MatMul weights only (activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    quantize_dynamic(
        str(source),
        str(target),
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
    )
    return target


def sentence_transformers_model() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_weights_dir()), device="cpu")


def run_ablation(texts: Sequence[str], batch: int = 64, with_torch: bool = True) -> list[Step]:
    bundle = ensure_minilm_bundle(models_cache())
    tokenizer = TextTokenizer(bundle.tokenizer_path, bundle.max_seq_length)
    steps: list[Step] = []
    if with_torch:
        st = sentence_transformers_model()
        steps.append(
            _timed(
                "naive: sentence-transformers (torch), one text per encode() call",
                texts,
                lambda t: np.stack([st.encode(x) for x in t]),
            )[0]
        )
        steps.append(
            _timed(
                f"sentence-transformers (torch), encode(batch_size={batch})",
                texts,
                lambda t: np.asarray(st.encode(list(t), batch_size=batch)),
            )[0]
        )
    plain = OnnxVariant(bundle.onnx_path, tokenizer, optimize=False)
    opt = OnnxVariant(bundle.onnx_path, tokenizer)
    variants: list[tuple[str, Callable[[Sequence[str]], Vectors]]] = [
        ("ONNX, no graph optimisations, batch 1", lambda t: plain.embed(t, 1)),
        ("ONNX + graph optimisations, batch 1", lambda t: opt.embed(t, 1)),
        (
            f"+ batching {batch}, fixed padding to {FIXED_PAD}",
            lambda t: opt.embed(t, batch, "fixed"),
        ),
        (f"+ dynamic padding (batch {batch}, to its longest)", lambda t: opt.embed(t, batch)),
        (
            f"+ length bucketing (batch {batch}, min fill 0.95), one call at a time",
            lambda t: opt.embed(t, batch, min_fill=0.95),
        ),
    ]
    cores = cpu_cores()
    if cores > 1:
        parallel = OnnxVariant(bundle.onnx_path, tokenizer, calls=cores)
        variants.append(
            (
                f"+ {cores} parallel single-thread calls on the buckets = ours",
                lambda t: parallel.embed(t, batch, min_fill=0.95),
            )
        )
    reference: Vectors | None = None
    for name, fn in variants:
        step, vectors = _timed(name, texts, fn)
        reference = vectors if reference is None else reference
        steps.append(Step(step.name, step.texts, step.seconds, _min_cosine(vectors, reference)))
    int8_path = quantize_int8(bundle.onnx_path, bundle.onnx_path.with_name("model.int8.onnx"))
    int8 = OnnxVariant(int8_path, tokenizer, calls=cores)
    step, vectors = _timed(
        f"+ int8 per-channel MatMul (optional; cosine >= {COSINE_FLOOR} required)",
        texts,
        lambda t: int8.embed(t, batch, min_fill=0.95),
    )
    assert reference is not None
    steps.append(Step(step.name, step.texts, step.seconds, _min_cosine(vectors, reference)))
    return steps
