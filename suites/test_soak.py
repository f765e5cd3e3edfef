"""Soak: a long run that watches for drift, growth and failures. Off by default;
run it with ``pytest suites -m soak``: ``--tts-trials`` syntheses when given, else
TTSBENCH_SOAK_ITERATIONS (200); fewer than 20 skip, as deciles of fewer say nothing."""

from __future__ import annotations

import os
import statistics
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

ITERATIONS = int(os.environ.get("TTSBENCH_SOAK_ITERATIONS", "200"))
MIN_ITERATIONS = 20  # a decile of 2 trials at least
MAX_DRIFT = 1.25  # last decile's median latency / first decile's
MAX_SLOPE_MB = 0.5  # MiB of RSS per synthesis


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.tts_prompts("short")
def test_soak(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    iterations = asked_trials or ITERATIONS
    if iterations < MIN_ITERATIONS:
        asked = (
            "TTSBENCH_SOAK_ITERATIONS" if asked_trials is None else f"--tts-trials={asked_trials}"
        )
        pytest.skip(
            f"{asked}: {iterations} syntheses; the soak compares the first and the last "
            f"tenth of at least {MIN_ITERATIONS}"
        )
    # Every trial's audio is checked as it runs: one invalid trial fails the test.
    result = tts_bench(tts_prompt, trials=iterations, params={"check": "soak"})
    latencies = result.series("latency_ms")
    tenth = max(1, len(latencies) // 10)
    drift = statistics.median(latencies[-tenth:]) / statistics.median(latencies[:tenth])
    assert drift <= MAX_DRIFT, f"latency drifted x{drift:.2f} from the first to the last decile"
    slope = result.rss_slope_mb
    assert slope is not None
    assert slope <= MAX_SLOPE_MB, f"RSS grows {slope:.2f} MiB per synthesis"
