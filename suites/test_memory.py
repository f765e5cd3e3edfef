"""Memory: peak RSS and accelerator peak per target, and a leak check that fits RSS
growth per synthesis over many runs (``--tts-trials`` of them when given, else
TTSBENCH_LEAK_ITERATIONS; fewer than 10 skip: a slope over so few readings cannot tell
a leak from an allocator that grows once)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

# A steady leak of this much per synthesis fails the check (MiB per iteration).
LEAK_BOUND_MB = float(os.environ.get("TTSBENCH_LEAK_MB_PER_ITER", "0.5"))
LEAK_ITERATIONS = int(os.environ.get("TTSBENCH_LEAK_ITERATIONS", "20"))
MIN_LEAK_ITERATIONS = 10


@pytest.mark.tts_prompts("medium")
def test_memory_peak(tts_bench: TTSBench, tts_prompt: str) -> None:
    result = tts_bench(tts_prompt)
    assert result.peak_rss_mb is not None
    assert result.peak_rss_mb > 0
    # accel_peak_mb is None on the CPU and ONNX Runtime: never a 0 that pretends
    assert result.accel_peak_mb is None or result.accel_peak_mb > 0


@pytest.mark.slow
@pytest.mark.tts_prompts("short")
def test_no_leak(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    iterations = asked_trials or LEAK_ITERATIONS
    if iterations < MIN_LEAK_ITERATIONS:
        asked = (
            "TTSBENCH_LEAK_ITERATIONS" if asked_trials is None else f"--tts-trials={asked_trials}"
        )
        pytest.skip(
            f"{asked}: {iterations} syntheses; the leak check fits a slope over at least "
            f"{MIN_LEAK_ITERATIONS}, fewer cannot tell a leak from an allocator that grows once"
        )
    # Warm-ups first, so caches and arenas that fill once are not called a leak.
    result = tts_bench(tts_prompt, trials=iterations, warmup=3, params={"check": "leak"})
    slope = result.rss_slope_mb
    assert slope is not None
    assert slope <= LEAK_BOUND_MB, (
        f"{result.target.id}: RSS grows {slope:.2f} MiB per synthesis over "
        f"{result.n} runs (bound {LEAK_BOUND_MB} MiB; readings "
        f"{[round(v) for v in result.rss.after_trials_mb] if result.rss else []})"
    )
