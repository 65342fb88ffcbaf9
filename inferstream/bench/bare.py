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
    length, padded per bucket: what the infer worker does with one micro-batch). Each chunk is
    prepared before the one ahead of it is run, as the infer worker's prepare thread keeps its
    next batch ready: with a pool of parallel calls its calls then queue behind that chunk's
    (TextEmbedder.prepare), so no thread of the pool waits at a chunk's end and the bare loop
    keeps the model as busy as the pipeline can."""
    model.embed(list(texts[:batch]))  # warm-up: first-call allocations
    started = time.perf_counter()
    chunks = (list(texts[i : i + batch]) for i in range(0, len(texts), batch))
    prepared = None
    for chunk in chunks:
        ahead = model.prepare(chunk)
        if prepared is not None:
            model.run(prepared)
        prepared = ahead
    if prepared is not None:
        model.run(prepared)
    return BareResult(batch, len(texts), time.perf_counter() - started)


def best_batch(
    texts: Sequence[str],
    providers: Sequence[str] | None = None,
    sizes: Sequence[int] = BATCH_SIZES,
    probe: int = 512,
    rounds: int = 2,
) -> tuple[int, list[BareResult]]:
    """Sweep batch sizes on the first ``probe`` texts, ``rounds`` times (each round every size
    once, so a burst of load elsewhere hits one round of a size, not all); each size's fastest
    round. Returns the fastest size and the sweep."""
    runs: dict[int, list[BareResult]] = {b: [] for b in sizes}
    for _ in range(max(1, rounds)):
        for b in sizes:
            runs[b].append(run_bare(embedder(b, providers), texts[:probe], b))
    sweep = [min(results, key=lambda r: r.seconds) for results in runs.values()]
    return max(sweep, key=lambda r: r.rate).batch, sweep
