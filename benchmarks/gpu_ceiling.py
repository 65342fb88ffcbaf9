"""Where the GPU time goes for MiniLM-L6 (the GPU benchmark): tokenisation vs the model, separately.

    python benchmarks/gpu_ceiling.py WEIGHTS_DIR [--n 32768] [--out DIR]

gpu_check.py showed sentence-transformers' ``encode`` leaving an H200 ~95% idle: the Python
tokenise/pad/collate path, not the model, sets the pace. This measures the two halves apart on
the same texts as gpu_check: (1) the Rust tokenizer's ``encode_batch`` (all cores, as the
pipeline's prepare thread does) in sentences/s; (2) the model alone, fp16, on pre-tokenised
length-bucketed batches resident on the GPU (forward + mean pooling + L2 norm), at several batch
sizes, with GPU utilisation. The pipeline's ceiling on one GPU is the smaller of the two.
Needs torch, transformers, tokenizers, numpy; stops by itself in about a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_check import GpuSampler, load_texts

MAX_TOKENS = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--batches", default="256,1024,4096")
    parser.add_argument("--min-s", type=float, default=3.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    texts = load_texts(args.n)
    tok = Tokenizer.from_file(str(args.weights / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    tok.encode_batch(texts[:1024])
    started = time.perf_counter()
    encoded = tok.encode_batch(texts)
    tok_rate = len(texts) / (time.perf_counter() - started)
    lengths = np.array([len(e.ids) for e in encoded])

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModel.from_pretrained(
        str(args.weights), dtype=torch.float16 if device == "cuda" else torch.float32
    )
    model.to(device).eval()
    order = np.argsort(lengths)  # length bucketing: similar lengths share a batch

    lines = [
        f"GPU ceiling: {torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'}; "
        f"torch {torch.__version__}; {os.cpu_count()} CPUs; {len(texts)} texts, "
        f"mean {lengths.mean():.0f} tokens (max {MAX_TOKENS})",
        "",
        f"tokenizers encode_batch (Rust, all cores): {tok_rate:,.0f} sentences/s",
        "",
        "| model only, fp16, bucketed | sentences/s | GPU util (mean) |",
        "|---|---|---|",
    ]
    for batch in [int(b) for b in args.batches.split(",") if b]:
        batches = []
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = encoded[j].ids
                mask[row, : lengths[j]] = 1
            batches.append((torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)))

        def one_pass(batches: list[tuple[torch.Tensor, torch.Tensor]] = batches) -> None:
            with torch.inference_mode():
                for ids_t, mask_t in batches:
                    hidden = model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
                    m = mask_t.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
                    torch.nn.functional.normalize(pooled, dim=-1)
            if device == "cuda":
                torch.cuda.synchronize()

        one_pass()
        with GpuSampler() as gpu:
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.min_s:
                one_pass()
                done += len(texts)
            rate = done / (time.perf_counter() - t0)
        lines.append(f"| batch {batch} | {rate:,.0f} | {gpu.mean} |")
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_ceiling.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
