"""Concurrency and load: K requests at once against one loaded engine (closed loop),
and Poisson arrivals at a fraction of what one request at a time sustains (open
loop). Latency counts from each request's scheduled start; the table shows TTFA and
latency under load, the details throughput and whether the engine serializes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_concurrent_requests(tts_bench: TTSBench, concurrency: int) -> None:
    result = tts_bench.concurrent("short", concurrency=concurrency)
    load = result.load
    assert load is not None
    assert load.errors == 0
    assert load.throughput > 0


@pytest.mark.parametrize("load_factor", [0.5, 0.9])
def test_poisson_arrivals(tts_bench: TTSBench, load_factor: float) -> None:
    result = tts_bench.concurrent("short", load_factor=load_factor, requests=8)
    assert result.load is not None
    assert result.load.errors == 0
    assert result.arrival_rate_hz is not None
    assert result.arrival_rate_hz > 0
