"""Sentence embeddings with length bucketing, split into prepare (CPU) and run (model) steps.

On a CPU the cost of a BERT batch is items x longest sequence, so padding waste dominates: batches
of 16-32 texts in arrival order run slower per text than batch 1. ``prepare`` therefore sorts texts
by token length and cuts them into sub-batches bounded both by item count and by padded tokens
(items x longest), and ``run`` scatters the results back into the caller's order. The two steps are
separate so a worker can tokenise the next batch on another thread while the current one runs.

Where the calls run on a pool of parallel calls (CPU sessions), ``prepare`` already hands them to
the pool, queued behind the calls of the batches prepared before: the pool's threads go on to the
next batch while the worker's run thread turns the current batch's vectors into results, instead
of leaving the cores to that one thread. ``run`` only waits for them.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.models.bundle import ModelBundle
from inferstream.models.minilm_onnx import ATTENTION_MASK, INPUT_IDS, OUTPUT
from inferstream.models.null import NULL_PROVIDER, NULL_VERSION_SUFFIX, NullSession
from inferstream.models.session import (
    available_providers,
    half_precision,
    make_session,
    on_gpu,
)
from inferstream.models.tokenizer import IdArray, TextTokenizer
from inferstream.settings.model import ModelSettings

FloatArray = npt.NDArray[np.float32]
# Default minimum real/padded token ratio per sub-batch on CPU-only sessions (see __init__).
CPU_MIN_FILL = 0.95


@dataclass(frozen=True)
class SubBatch:
    """One model call: texts of similar length, padded to the longest of them."""

    indices: npt.NDArray[np.intp]  # positions of these rows in the caller's original order
    input_ids: IdArray
    attention_mask: IdArray

    @property
    def padded_tokens(self) -> int:
        return int(self.input_ids.size)

    @property
    def real_tokens(self) -> int:
        return int(self.attention_mask.sum())


@dataclass(frozen=True)
class PreparedBatch:
    """Tokenised, bucketed input for ``TextEmbedder.run``."""

    size: int
    order: npt.NDArray[np.intp]  # order[j] = original index of the j-th text after sorting
    batches: tuple[SubBatch, ...]
    # The sub-batches' calls, already started on the embedder's pool, with the sub-batch each
    # is for (costliest first); empty where ``run`` makes the calls itself.
    started: tuple[tuple[SubBatch, Future[FloatArray]], ...] = field(default=(), compare=False)

    @property
    def padded_tokens(self) -> int:
        return sum(b.padded_tokens for b in self.batches)

    @property
    def real_tokens(self) -> int:
        return sum(b.real_tokens for b in self.batches)


def plan_buckets(
    lengths: Sequence[int],
    max_items: int,
    max_tokens: int,
    min_fill: float = 0.0,
    min_groups: int = 1,
) -> list[list[int]]:
    """Group indices sorted by length so that each group has <= max_items,
    len(group) * longest <= max_tokens and real / padded tokens >= min_fill, then split groups
    until there are at least ``min_groups`` (where items allow). A single text longer than
    max_tokens still gets its own group (it cannot be split), so every index lands in exactly
    one group."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        # Ascending order: the newcomer is the longest, so it sets the padded width.
        padded = (len(current) + 1) * lengths[i]
        full = len(current) + 1 > max_items or padded > max_tokens
        if current and (full or real + lengths[i] < min_fill * padded):
            groups.append(current)
            current, real = [], 0
        current.append(i)
        real += lengths[i]
    if current:
        groups.append(current)
    return _split_to(groups, lengths, min_groups)


def _split_to(groups: list[list[int]], lengths: Sequence[int], n: int) -> list[list[int]]:
    """Halve the costliest group (items x longest) until there are ``n`` groups or none has
    two items, so that ``n`` parallel calls all have work. Halves stay sorted by length."""
    groups = list(groups)
    while len(groups) < n:
        splittable = [g for g in groups if len(g) > 1]
        if not splittable:
            break
        big = max(splittable, key=lambda g: len(g) * lengths[g[-1]])
        at = groups.index(big)
        half = len(big) // 2
        groups[at : at + 1] = [big[:half], big[half:]]
    return groups


def cpu_cores() -> int:
    """Cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class TextEmbedder:
    """L2-normalised sentence embeddings from a MiniLM ``ModelBundle`` on ONNX Runtime."""

    def __init__(
        self,
        bundle: ModelBundle,
        providers: Sequence[str] | None = None,
        max_batch_items: int = 32,
        max_batch_tokens: int = 4096,
        intra_op_threads: int | None = None,
        min_fill: float | None = None,
        parallel_calls: int | None = None,
    ) -> None:
        if max_batch_items < 1 or max_batch_tokens < 1:
            raise ValueError("max_batch_items and max_batch_tokens must be >= 1")
        if min_fill is not None and not 0.0 <= min_fill <= 1.0:
            raise ValueError("min_fill must be within [0, 1]")
        self.bundle = bundle
        self.max_batch_items = max_batch_items
        self.max_batch_tokens = max_batch_tokens
        self.tokenizer = TextTokenizer(bundle.tokenizer_path, bundle.max_seq_length)
        chosen = list(providers) if providers is not None else available_providers()
        # Benchmarks only: the null model replaces the session; tokenising and bucketing stay.
        # It plans calls as a GPU session does (one call at a time, no fill cut).
        self.null = ModelSettings.load().backend == "null"
        if self.null:
            chosen = [NULL_PROVIDER]
        # On a GPU: the fp16 graph, and IO binding so the output is fetched once per call.
        self._gpu = on_gpu(chosen)
        calls, threads = _call_layout(chosen, intra_op_threads, parallel_calls)
        if self.null:
            self._session: Any = NullSession(bundle.dim)
        else:
            path = half_precision(bundle.onnx_path) if self._gpu else bundle.onnx_path
            self._session = make_session(path, chosen, threads)
        self.parallel_calls = calls
        self._pool = (
            ThreadPoolExecutor(self.parallel_calls, thread_name_prefix="model-call")
            if self.parallel_calls > 1
            else None
        )
        # Extra cut: start a new sub-batch when real/padded tokens would fall below min_fill.
        # On a CPU compute scales with padded tokens and a call costs little more than its
        # FLOPs, so cutting pays: measured on 2 shared cores, bug reports (~82 tokens, p90 130)
        # arriving in batches of 32 ran at ~100 texts/s with no cut, ~180 at 0.85, ~190 at 0.95
        # (batch 1: ~160). On a GPU fewer, larger calls win, so the default (None) turns it on
        # only when the session runs on the CPU alone.
        if min_fill is None:
            min_fill = CPU_MIN_FILL if self.providers == ["CPUExecutionProvider"] else 0.0
        self.min_fill = min_fill

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def version(self) -> str:
        return self.bundle.version + (NULL_VERSION_SUFFIX if self.null else "")

    @property
    def tokenizer_version(self) -> str:
        return self.bundle.tokenizer_version

    @property
    def dim(self) -> int:
        return self.bundle.dim

    @property
    def providers(self) -> list[str]:
        """Providers the session actually got (a requested GPU provider may have fallen back)."""
        return list(self._session.get_providers())

    def prepare(self, texts: Sequence[str]) -> PreparedBatch:
        """Tokenise once, bucket by length, pad each bucket to its own longest text."""
        ids = self.tokenizer.encode_ids(texts)
        groups = plan_buckets(
            [len(row) for row in ids],
            self.max_batch_items,
            self.max_batch_tokens,
            self.min_fill,
            min_groups=self.parallel_calls,
        )
        batches = []
        for group in groups:
            input_ids, attention_mask = self.tokenizer.pad([ids[i] for i in group])
            batches.append(SubBatch(np.asarray(group, dtype=np.intp), input_ids, attention_mask))
        order = np.concatenate([b.indices for b in batches]) if batches else np.empty(0, np.intp)
        prepared = PreparedBatch(len(ids), order, tuple(batches), self._start(batches))
        if prepared.started:
            # A batch dropped unrun (a worker stopping or losing its partitions) does not
            # keep the pool busy with the calls of it that have not begun.
            weakref.finalize(prepared, _cancel, [call for _, call in prepared.started])
        return prepared

    def _start(
        self, batches: Sequence[SubBatch]
    ) -> tuple[tuple[SubBatch, Future[FloatArray]], ...]:
        """The calls of a batch of two or more sub-batches handed to the pool, costliest first
        (the pool gives the next call to whichever thread is free); none without a pool."""
        if self._pool is None or len(batches) < 2:
            return ()
        ordered = sorted(batches, key=lambda b: -b.padded_tokens)
        pool = self._pool
        try:
            return tuple(
                (b, pool.submit(self._call, b.input_ids, b.attention_mask)) for b in ordered
            )
        except RuntimeError:  # closed meanwhile (a worker stopping): run makes the calls
            return ()

    def run(self, prepared: PreparedBatch) -> FloatArray:
        """Embeddings float32 [n, dim] in the original order of the texts given to ``prepare``."""
        out = np.empty((prepared.size, self.dim), dtype=np.float32)
        if not prepared.started:
            for batch in prepared.batches:
                out[batch.indices] = self._call(batch.input_ids, batch.attention_mask)
            return out
        try:
            for batch, call in prepared.started:
                out[batch.indices] = call.result()
        except BaseException:
            _cancel([call for _, call in prepared.started])  # the batch failed as a whole
            raise
        return out

    def _call(self, input_ids: IdArray, attention_mask: IdArray) -> FloatArray:
        if not self._gpu:
            feeds = {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask}
            (result,) = self._session.run([OUTPUT], feeds)
            return np.asarray(result, dtype=np.float32)
        binding = self._session.io_binding()
        binding.bind_cpu_input(INPUT_IDS, input_ids)
        binding.bind_cpu_input(ATTENTION_MASK, attention_mask)
        binding.bind_output(OUTPUT, "cuda")
        self._session.run_with_iobinding(binding)
        return np.asarray(binding.copy_outputs_to_cpu()[0], dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> FloatArray:
        return self.run(self.prepare(texts))

    def close(self) -> None:
        """Cancel the calls queued on the pool and wait for the ones running (a worker
        stopping under backlog would otherwise run the calls of every batch prepared ahead,
        ~1 s each on a CPU, before it exits: the interpreter joins the pool's threads at exit).
        A batch whose calls were cancelled fails in ``run``; later batches make their calls
        in ``run``, without the pool. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _cancel(calls: Sequence[Future[FloatArray]]) -> None:
    for call in calls:
        call.cancel()  # a no-op on a call that has begun or ended


def _call_layout(
    providers: Sequence[str], intra_op_threads: int | None, parallel_calls: int | None
) -> tuple[int, int | None]:
    """(parallel calls, intra-op threads per call) from the arguments, else ModelSettings."""
    settings = ModelSettings.load()
    threads = intra_op_threads if intra_op_threads is not None else settings.intra_op_threads
    calls = parallel_calls if parallel_calls is not None else settings.parallel_calls
    if on_gpu(providers):
        # The model runs on the GPU: the session's CPU pool only runs the few nodes left on
        # the CPU (shapes, casts), and a thread per core in every infer process would compete
        # with the CPU-bound stages around the GPU.
        return 1, 1 if threads is None else threads
    if list(providers) != ["CPUExecutionProvider"]:
        return 1, threads
    if calls is None:
        calls = cpu_cores() if threads is None else 1
    if calls > 1 and threads is None:
        threads = 1
    return calls, threads
