"""Concurrency and load: K requests at once against one loaded engine (closed loop),
and Poisson arrivals at a fraction of what one request at a time sustains (open
loop). Latency counts from each request's scheduled start; the table shows TTFA and
latency under load, the details throughput and whether the engine serializes.

``--tts-trials`` sets the requests of each load (unless given: 2 per thread, at least 6,
and 8 Poisson arrivals); K at once need at least K requests, so fewer skip.

Every load reports its goodput: requests with valid audio within every ``--tts-slo``
bound over all requests sent. The rate ladder climbs Poisson loads from a quarter to
twice the solo rate (the same request count per rung, 60 requests at most in all) and
reports the highest rate whose goodput reaches LADDER_TARGET and whether it falls off a
cliff between rungs (docs/METRICS.md, "Goodput and the rate ladder")."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

POISSON_REQUESTS = 8  # arrivals when --tts-trials is not given
LADDER_TARGET = 0.9  # the goodput a rung must reach to count as sustained


@pytest.mark.tts_prompts("short")
@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_concurrent_requests(
    tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None, concurrency: int
) -> None:
    if asked_trials is not None and asked_trials < concurrency:
        pytest.skip(
            f"--tts-trials={asked_trials}: {concurrency} requests at once need at least "
            f"{concurrency} requests"
        )
    # requests=None: the runner's default, two per thread and at least 6
    result = tts_bench.concurrent(tts_prompt, concurrency=concurrency, requests=asked_trials)
    load = result.load
    assert load is not None
    assert load.errors == 0
    assert load.throughput > 0


@pytest.mark.tts_prompts("short")
@pytest.mark.parametrize("load_factor", [0.5, 0.9])
def test_poisson_arrivals(
    tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None, load_factor: float
) -> None:
    requests = asked_trials or POISSON_REQUESTS
    result = tts_bench.concurrent(tts_prompt, load_factor=load_factor, requests=requests)
    assert result.load is not None
    assert result.load.errors == 0
    assert result.arrival_rate_hz is not None
    assert result.arrival_rate_hz > 0


@pytest.mark.slow
@pytest.mark.tts_prompts("short")
def test_rate_ladder(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    requests = asked_trials or POISSON_REQUESTS  # per rung
    result = tts_bench.rate_ladder(tts_prompt, requests=requests, target=LADDER_TARGET)
    ladder = result.rate_ladder
    assert ladder is not None
    assert ladder.rungs
    rates = [r.rate_hz for r in ladder.rungs]
    assert rates == sorted(rates)
    assert all(r.good + r.errors <= r.requests for r in ladder.rungs)
