"""Accelerator peak memory, as the PyTorch and MLX adapters read it: a real count or
None, never a 0 that pretends."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_ttsbench.engines import device_memory


def test_nothing_loaded_is_none_and_imports_nothing() -> None:
    before = set(sys.modules)
    assert device_memory.torch_cuda_peak_bytes(None) is None
    assert device_memory.torch_cuda_reset_peak(None) is False
    assert device_memory.mlx_peak_bytes(None) is None
    assert device_memory.mlx_reset_peak(None) is False
    assert device_memory.mlx_clear_cache(None) is False
    assert set(sys.modules) == before


def fake_torch(*, available: bool = True, initialized: bool = True) -> tuple[Any, list[Any]]:
    calls: list[Any] = []
    cuda = SimpleNamespace(
        is_available=lambda: available,
        is_initialized=lambda: initialized,
        reset_peak_memory_stats=lambda device=None: calls.append(("reset", device)),
        max_memory_allocated=lambda device=None: 123_000_000,
        max_memory_reserved=lambda device=None: 456_000_000,
    )
    return SimpleNamespace(cuda=cuda), calls


def test_torch_cuda_helpers() -> None:
    torch, calls = fake_torch()
    assert device_memory.torch_cuda_reset_peak(torch, 1) is True
    assert calls == [("reset", 1)]
    assert device_memory.torch_cuda_peak_bytes(torch) == 123_000_000
    assert device_memory.torch_cuda_peak_bytes(torch, reserved=True) == 456_000_000


@pytest.mark.parametrize(("available", "initialized"), [(False, False), (True, False)])
def test_torch_cuda_unused_is_none_not_zero(available: bool, initialized: bool) -> None:
    torch, calls = fake_torch(available=available, initialized=initialized)
    assert device_memory.torch_cuda_peak_bytes(torch) is None
    assert device_memory.torch_cuda_reset_peak(torch) is False
    assert calls == []


def test_torch_cuda_broken_driver_is_none() -> None:
    def broken() -> bool:
        raise RuntimeError("CUDA driver initialization failed")

    torch = SimpleNamespace(cuda=SimpleNamespace(is_available=broken))
    assert device_memory.torch_cuda_peak_bytes(torch) is None
    assert device_memory.torch_cuda_reset_peak(torch) is False


def test_mlx_new_api() -> None:
    calls: list[str] = []
    mx = SimpleNamespace(
        reset_peak_memory=lambda: calls.append("reset"),
        get_peak_memory=lambda: 789,
        metal=SimpleNamespace(get_peak_memory=lambda: -1),  # deprecated: not used
    )
    assert device_memory.mlx_reset_peak(mx) is True
    assert calls == ["reset"]
    assert device_memory.mlx_peak_bytes(mx) == 789
    assert device_memory.mlx_clear_cache(mx) is False  # no clear_cache here


def test_mlx_old_metal_api() -> None:
    calls: list[str] = []
    metal = SimpleNamespace(
        reset_peak_memory=lambda: calls.append("reset"),
        get_peak_memory=lambda: 42,
        clear_cache=lambda: calls.append("clear"),
    )
    mx = SimpleNamespace(metal=metal)
    assert device_memory.mlx_reset_peak(mx) is True
    assert device_memory.mlx_peak_bytes(mx) == 42
    assert device_memory.mlx_clear_cache(mx) is True
    assert calls == ["reset", "clear"]


def test_mlx_without_peak_api_is_none() -> None:
    mx = SimpleNamespace(metal=SimpleNamespace())
    assert device_memory.mlx_peak_bytes(mx) is None
    assert device_memory.mlx_reset_peak(mx) is False
