"""--device: cpu, or cuda (TensorRT then CUDA execution provider, fp16, IO binding; faiss-gpu
when present). A CUDA request on a machine without onnxruntime-gpu or a GPU fails with one line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inferstream.models import available_providers
from inferstream.models.index import faiss_gpu_count

Device = Literal["cpu", "cuda"]
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class DeviceError(RuntimeError):
    """The requested device is not usable here; the message says why and what to install."""


@dataclass(frozen=True)
class DeviceChoice:
    device: Device
    providers: tuple[str, ...]
    faiss_gpu: bool

    @property
    def label(self) -> str:
        return f"{self.device} ({', '.join(self.providers)})"


def choose(device: str) -> DeviceChoice:
    if device == "cpu":
        return DeviceChoice("cpu", ("CPUExecutionProvider",), faiss_gpu=False)
    if device != "cuda":
        raise DeviceError(f"--device {device!r}: expected cpu or cuda")
    present = available_providers()
    gpu = tuple(p for p in present if p in GPU_PROVIDERS)
    if not gpu:
        raise DeviceError(
            "--device cuda: this onnxruntime build has no CUDA/TensorRT execution provider "
            f"(has {', '.join(present) or 'none'}); install the gpu extra "
            "(pip install 'inferstream[gpu]', i.e. onnxruntime-gpu) on a machine with a GPU"
        )
    return DeviceChoice("cuda", (*gpu, "CPUExecutionProvider"), faiss_gpu=faiss_gpu_count() > 0)


def gpu_name() -> str | None:
    """The first GPU's name from nvidia-smi, if there is one."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    name = out.stdout.strip().splitlines()
    return name[0] if name else None
