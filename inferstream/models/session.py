"""ONNX Runtime sessions with the best execution provider present on this machine."""

from __future__ import annotations

import ctypes
import functools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information

from inferstream.settings import ModelSettings

# Preference order: TensorRT, then CUDA, then CPU. Whatever the installed onnxruntime build
# reports is kept, so the same code serves the CPU wheel and onnxruntime-gpu.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
PROVIDER_PREFERENCE = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)


# onnxruntime-gpu lists TensorRT whenever its provider library is in the wheel, whether or not
# TensorRT itself is installed; asking for it then fails at every session (logged as an error)
# before the CUDA provider is used. Its runtime library (TensorRT 10 for onnxruntime-gpu 1.2x+):
TENSORRT_RUNTIME = "libnvinfer.so.10"


@functools.cache
def tensorrt_loadable() -> bool:
    try:
        ctypes.CDLL(TENSORRT_RUNTIME)
    except OSError:
        return False
    return True


def available_providers() -> list[str]:
    """Providers from PROVIDER_PREFERENCE that this onnxruntime build offers and can load here,
    best first."""
    present = set(ort.get_available_providers())
    if "TensorrtExecutionProvider" in present and not tensorrt_loadable():
        present.discard("TensorrtExecutionProvider")
    return [name for name in PROVIDER_PREFERENCE if name in present]


def make_session(
    path: Path,
    providers: Sequence[str] | None = None,
    intra_op_threads: int | None = None,
    *,
    optimize: bool = True,
) -> ort.InferenceSession:
    """Load ``path`` with full graph optimisation (fusions for LayerNorm, GELU, attention);
    ``optimize=False`` turns every graph optimisation off (benchmark ablation only)."""
    settings = ModelSettings.load()
    chosen = list(providers) if providers is not None else available_providers()
    if not chosen:
        raise ValueError("no execution providers given")
    if intra_op_threads is None:
        intra_op_threads = settings.intra_op_threads
    # Off unless asked for. Measured on 2 shared cores: spinning threads halved the rate (79 vs
    # 140 texts/s) once another process wanted a core, and gained nothing alone
    # (docs/benchmarks.md). The same holds next to a GPU, where they have next to nothing to do
    # (the model runs there) and the CPU-bound stages around it need the cores.
    spinning = settings.allow_spinning
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimize
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    if intra_op_threads is not None:
        if intra_op_threads < 1:
            raise ValueError("intra_op_threads must be >= 1")
        options.intra_op_num_threads = intra_op_threads
    return ort.InferenceSession(str(path), sess_options=options, providers=chosen)


def on_gpu(providers: Sequence[str]) -> bool:
    return any(p in GPU_PROVIDERS for p in providers)


def half_precision(path: Path) -> Path:
    """An fp16 copy of the graph next to it (built once, written atomically): weights and
    activations in float16, inputs and output kept as they are (int64 ids, float32 vectors), so
    callers do not change. For GPU sessions, where fp16 runs on tensor cores."""
    target = path.with_name(path.stem + ".fp16.onnx")
    if target.is_file() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    import onnx
    from onnxruntime.transformers.float16 import (  # type: ignore[import-untyped]
        convert_float_to_float16,
    )

    model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(model.SerializeToString())
    os.replace(tmp.name, target)
    return target
