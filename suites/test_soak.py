"""Soak: a long run that watches for drift, growth and failures. Off by default;
run it with ``pytest suites -m soak`` (TTSBENCH_SOAK_ITERATIONS, default 200)."""

from __future__ import annotations

import os
import statistics
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

ITERATIONS = int(os.environ.get("TTSBENCH_SOAK_ITERATIONS", "200"))
MAX_DRIFT = 1.25  # last decile's median latency / first decile's
MAX_SLOPE_MB = 0.5  # MiB of RSS per synthesis


@pytest.mark.soak
@pytest.mark.slow
def test_soak(tts_bench: TTSBench) -> None:
    # Every trial's audio is checked as it runs: one invalid trial fails the test.
    result = tts_bench("short", trials=ITERATIONS, params={"check": "soak"})
    latencies = result.series("latency_ms")
    tenth = max(1, len(latencies) // 10)
    drift = statistics.median(latencies[-tenth:]) / statistics.median(latencies[:tenth])
    assert drift <= MAX_DRIFT, f"latency drifted x{drift:.2f} from the first to the last decile"
    slope = result.rss_slope_mb
    assert slope is not None
    assert slope <= MAX_SLOPE_MB, f"RSS grows {slope:.2f} MiB per synthesis"
