"""Memory: peak RSS and accelerator peak per target, and a leak check that fits RSS
growth per synthesis over many runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

# A steady leak of this much per synthesis fails the check (MiB per iteration).
LEAK_BOUND_MB = float(os.environ.get("TTSBENCH_LEAK_MB_PER_ITER", "0.5"))
LEAK_ITERATIONS = int(os.environ.get("TTSBENCH_LEAK_ITERATIONS", "20"))


def test_memory_peak(tts_bench: TTSBench) -> None:
    result = tts_bench("medium")
    assert result.peak_rss_mb is not None
    assert result.peak_rss_mb > 0
    # accel_peak_mb is None on the CPU and ONNX Runtime: never a 0 that pretends
    assert result.accel_peak_mb is None or result.accel_peak_mb > 0


@pytest.mark.slow
def test_no_leak(tts_bench: TTSBench) -> None:
    # Warm-ups first, so caches and arenas that fill once are not called a leak.
    result = tts_bench("short", trials=LEAK_ITERATIONS, warmup=3, params={"check": "leak"})
    slope = result.rss_slope_mb
    assert slope is not None
    assert slope <= LEAK_BOUND_MB, (
        f"{result.target.id}: RSS grows {slope:.2f} MiB per synthesis over "
        f"{result.n} runs (bound {LEAK_BOUND_MB} MiB; readings "
        f"{[round(v) for v in result.rss.after_trials_mb] if result.rss else []})"
    )
