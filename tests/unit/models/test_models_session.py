"""Which execution providers a session asks for: TensorRT only where its runtime loads."""

from __future__ import annotations

import pytest

from inferstream.models import session


@pytest.fixture(autouse=True)
def fresh_probe() -> None:
    session.tensorrt_loadable.cache_clear()


def test_tensorrt_listed_by_the_build_but_not_installed_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(session.ort, "get_available_providers", lambda: listed)
    monkeypatch.setattr(session, "TENSORRT_RUNTIME", "libinferstream-no-such-runtime.so.0")
    assert session.available_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_tensorrt_kept_first_when_its_runtime_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    monkeypatch.setattr(session.ort, "get_available_providers", lambda: listed)
    # Any library the process can load stands in for TensorRT's runtime.
    monkeypatch.setattr(session, "TENSORRT_RUNTIME", "libc.so.6")
    assert session.available_providers() == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


def test_cpu_build_offers_the_cpu_provider() -> None:
    assert session.available_providers()[-1] == "CPUExecutionProvider"
