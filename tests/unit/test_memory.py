"""Unit tests for pytest_ttsbench.measure.memory: RSS sampling, growth, slope, accelerators."""

from __future__ import annotations

import importlib
import math
import sys
import threading
import time
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import psutil
import pytest

from pytest_ttsbench.measure import memory

MIB = 2**20


def test_rss_matches_psutil() -> None:
    ours = memory.rss_bytes()
    theirs = psutil.Process().memory_info().rss
    assert abs(ours - theirs) < 16 * MIB
    assert memory.rss_mb() == pytest.approx(memory.rss_bytes() / MIB, abs=16)


def test_sampler_sees_a_200_mb_allocation() -> None:
    with memory.RssSampler() as sampler:
        time.sleep(0.03)
        block = np.ones(200 * MIB // 8)  # touches every page
        time.sleep(0.05)
        del block
        time.sleep(0.03)
    assert sampler.peak_mb - sampler.baseline_mb >= 150
    assert sampler.samples >= 2
    mean = sampler.mean_interval_s
    assert mean is not None
    assert 0 < mean <= memory.MAX_INTERVAL_S
    assert sampler.max_interval_s is not None
    assert sampler.max_interval_s >= mean
    assert not sampler.running


def test_sampler_thread_is_a_daemon_and_stops_promptly() -> None:
    sampler = memory.RssSampler(interval_s=0.010).start()
    threads = [t for t in threading.enumerate() if t.name == "ttsbench-rss"]
    assert threads
    assert all(t.daemon for t in threads)
    time.sleep(0.02)
    start = time.perf_counter()
    sampler.stop()
    assert time.perf_counter() - start < 1.0
    assert not any(t.name == "ttsbench-rss" and t.is_alive() for t in threading.enumerate())


def test_sampler_cost_is_small() -> None:
    """The sampler must not slow the measured thread (budget: 50 us per audio chunk).

    Measured on a noisy 2-core VM: stamping (perf_counter_ns + append) ~90 ns per
    iteration with or without the sampler; its thread uses ~50-130 us CPU per reading
    (thread wake-ups), 1-2 % of one core at 5 ms. Bounds here are generous on purpose.
    """
    clock = time.perf_counter_ns
    iterations = 200_000

    def stamp_loop() -> float:
        stamps: list[int] = []
        append = stamps.append
        start = time.perf_counter()
        for _ in range(iterations):
            append(clock())
        return time.perf_counter() - start

    stamp_loop()
    off = min(stamp_loop() for _ in range(3))
    with memory.RssSampler() as sampler:
        on = min(stamp_loop() for _ in range(3))
    per_iteration_overhead = max(0.0, on - off) / iterations
    assert per_iteration_overhead < 50e-6
    assert on < off * 2 + 0.05
    assert sampler.samples >= 1
    cost = sampler.cost_per_sample_s
    assert cost is not None
    assert cost < 0.002
    assert sampler.cpu_s > 0


def test_mark_records_readings_and_feeds_the_peak() -> None:
    sampler = memory.RssSampler()
    first = sampler.mark()  # works without a running thread
    assert first == pytest.approx(memory.rss_mb(), abs=16)
    assert sampler.marks_mb == [first]
    assert sampler.peak_mb == first
    assert sampler.samples == 0
    assert sampler.mean_interval_s is None
    assert sampler.growth_mb is None
    second = sampler.mark()
    assert sampler.growth_mb == pytest.approx(second - first)


def test_restart_resets_and_double_start_fails() -> None:
    sampler = memory.RssSampler()
    sampler.stop()  # stop before start: nothing to do
    sampler.start()
    with pytest.raises(RuntimeError, match="already running"):
        sampler.start()
    sampler.mark()
    sampler.stop()
    sampler.stop()  # idempotent
    assert sampler.marks_mb
    sampler.start()
    assert sampler.marks_mb == []
    sampler.stop()
    stats = sampler.as_dict()
    assert stats["peak_rss_mb"] == sampler.peak_mb
    assert stats["rss_samples"] == sampler.samples


@pytest.mark.parametrize("interval", [0.0, -0.001, 0.0101, 1.0, math.nan])
def test_interval_must_be_at_most_10_ms(interval: float) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        memory.RssSampler(interval_s=interval)


def test_interval_default_and_limit() -> None:
    assert memory.RssSampler().interval_s == memory.MAX_INTERVAL_S == 0.010
    assert memory.RssSampler(interval_s=0.010).interval_s == 0.010


def test_growth_keeps_negative_values() -> None:
    assert memory.growth([100.0, 120.0, 90.0]) == pytest.approx(-10.0)
    assert memory.growth([100.0, 130.5]) == pytest.approx(30.5)
    assert memory.growth([100.0]) is None
    assert memory.growth([]) is None


def test_slope_of_a_synthetic_leak() -> None:
    rng = np.random.default_rng(3)
    leak = 2.5  # MiB per iteration
    readings = [500.0 + leak * i + float(rng.normal(0, 3.0)) for i in range(40)]
    slope = memory.slope_mb_per_iter(readings)
    assert slope is not None
    assert slope == pytest.approx(leak, abs=0.2)
    assert slope == pytest.approx(float(np.polyfit(np.arange(40), readings, 1)[0]), rel=1e-9)


def test_slope_flat_falling_and_degenerate() -> None:
    assert memory.slope_mb_per_iter([300.0] * 10) == 0.0
    falling = memory.slope_mb_per_iter([300.0 - 4.0 * i for i in range(10)])
    assert falling == pytest.approx(-4.0)
    assert memory.slope_mb_per_iter([1.0, 3.0]) == pytest.approx(2.0)
    assert memory.slope_mb_per_iter([1.0]) is None
    with pytest.raises(ValueError, match="finite"):
        memory.slope_mb_per_iter([1.0, math.nan, 3.0])


# ---- accelerators ------------------------------------------------------------------


def test_accelerator_helpers_without_torch_or_mlx(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("torch", "mlx", "mlx.core"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    imported: list[str] = []

    def no_import(name: str) -> ModuleType:
        imported.append(name)
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", no_import)
    assert memory.torch_cuda_peak_bytes() is None
    assert memory.torch_cuda_reset_peak() is False
    assert memory.mlx_peak_bytes() is None
    assert memory.mlx_reset_peak() is False
    assert imported == []  # nothing heavy is imported unless asked
    assert memory.torch_cuda_peak_bytes(import_module=True) is None
    assert memory.mlx_peak_bytes(import_module=True) is None
    assert imported == ["torch", "mlx.core"]


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


def test_torch_cuda_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, calls = fake_torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert memory.torch_cuda_reset_peak(1) is True
    assert calls == [("reset", 1)]
    assert memory.torch_cuda_peak_bytes() == 123_000_000
    assert memory.torch_cuda_peak_bytes(reserved=True) == 456_000_000


@pytest.mark.parametrize(("available", "initialized"), [(False, False), (True, False)])
def test_torch_cuda_unused_is_none_not_zero(
    monkeypatch: pytest.MonkeyPatch, available: bool, initialized: bool
) -> None:
    torch, calls = fake_torch(available=available, initialized=initialized)
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert memory.torch_cuda_peak_bytes() is None
    assert memory.torch_cuda_reset_peak() is False
    assert calls == []


def test_torch_cuda_broken_driver_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> bool:
        raise RuntimeError("CUDA driver initialization failed")

    torch = SimpleNamespace(cuda=SimpleNamespace(is_available=broken))
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert memory.torch_cuda_peak_bytes() is None


def test_mlx_new_api(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    mx = SimpleNamespace(
        reset_peak_memory=lambda: calls.append("reset"),
        get_peak_memory=lambda: 789,
        metal=SimpleNamespace(get_peak_memory=lambda: -1),  # deprecated: not used
    )
    monkeypatch.setitem(sys.modules, "mlx.core", mx)
    assert memory.mlx_reset_peak() is True
    assert calls == ["reset"]
    assert memory.mlx_peak_bytes() == 789


def test_mlx_old_metal_api(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    metal = SimpleNamespace(
        reset_peak_memory=lambda: calls.append("reset"), get_peak_memory=lambda: 42
    )
    monkeypatch.setitem(sys.modules, "mlx.core", SimpleNamespace(metal=metal))
    assert memory.mlx_reset_peak() is True
    assert calls == ["reset"]
    assert memory.mlx_peak_bytes() == 42


def test_mlx_without_peak_api_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlx.core", SimpleNamespace(metal=SimpleNamespace()))
    assert memory.mlx_peak_bytes() is None
    assert memory.mlx_reset_peak() is False
