"""The bare model: tokenise + the same ONNX session, no Kafka, no Postgres, one process."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from inferstream.bench.harness import models_cache
from inferstream.models import TextEmbedder, ensure_minilm_bundle

BATCH_SIZES = (1, 8, 16, 32, 64, 128)
# A GPU call costs about the same from 1 to a few hundred texts: sweep where it pays off.
GPU_BATCH_SIZES = (64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class BareResult:
    batch: int
    texts: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.texts / self.seconds


def embedder(
    batch: int,
    providers: Sequence[str] | None = None,
    intra_op_threads: int | None = None,
    min_fill: float | None = None,
    parallel_calls: int | None = None,
) -> TextEmbedder:
    bundle = ensure_minilm_bundle(models_cache())
    return TextEmbedder(
        bundle,
        providers=providers,
        max_batch_items=batch,
        max_batch_tokens=max(8192, batch * 256),
        intra_op_threads=intra_op_threads,
        min_fill=min_fill,
        parallel_calls=parallel_calls,
    )


def run_bare(model: TextEmbedder, texts: Sequence[str], batch: int) -> BareResult:
    """Embed ``texts`` in consecutive chunks of ``batch`` (each chunk tokenised, bucketed by
    length, padded per bucket: what the infer worker does with one micro-batch)."""
    model.embed(list(texts[:batch]))  # warm-up: first-call allocations
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.embed(list(texts[i : i + batch]))
    return BareResult(batch, len(texts), time.perf_counter() - started)


def best_batch(
    texts: Sequence[str],
    providers: Sequence[str] | None = None,
    sizes: Sequence[int] = BATCH_SIZES,
    probe: int = 512,
) -> tuple[int, list[BareResult]]:
    """Sweep batch sizes on the first ``probe`` texts; returns the fastest and the sweep."""
    sweep = [run_bare(embedder(b, providers), texts[:probe], b) for b in sizes]
    return max(sweep, key=lambda r: r.rate).batch, sweep
