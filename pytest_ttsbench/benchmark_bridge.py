"""The pytest-benchmark bridge: when that plugin is active (and not under xdist, where
it disables itself), a benchmark's measured latencies also feed its ``benchmark``
fixture through a replay clock, so ``--benchmark-json`` and ``--benchmark-compare``
see the harness's own trials, with the TTS metrics in ``extra_info``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from pytest_ttsbench.results.model import BenchResult


class ReplayClock:
    """A pytest-benchmark timer that replays latencies the harness already measured.

    pytest-benchmark reads ``timer()`` around each round's target; the target
    ``advance`` moves the clock by the next measured latency, so its statistics are
    exactly our trials, not a re-measurement of a no-op.
    """

    __name__ = "ttsbench_replay_clock"

    def __init__(self) -> None:
        self.now = 0.0
        self._pending: list[float] = []

    def __call__(self) -> float:
        return self.now

    def load(self, latencies_s: list[float]) -> None:
        self._pending = list(latencies_s)

    def advance(self) -> None:
        if self._pending:
            self.now += self._pending.pop(0)


def feed_pytest_benchmark(
    request: pytest.FixtureRequest,
    clock: ReplayClock | None,
    result: BenchResult,
    extra_info: dict[str, Any],
) -> None:
    """Hand the measured latencies to pytest-benchmark, timed by a replay clock."""
    if clock is None or not result.series("latency_ms"):
        return
    bench = request.getfixturevalue("benchmark")
    bench.extra_info.update(_benchmark_extra(result), **extra_info)
    latencies = [v / 1e3 for v in result.series("latency_ms")]
    clock.load(latencies)
    bench.pedantic(clock.advance, rounds=len(latencies), iterations=1, warmup_rounds=0)


def _benchmark_extra(result: BenchResult) -> dict[str, Any]:
    keys = (
        "ttfa_ms.p50",
        "ttfa_ms.p95",
        "latency_ms.p50",
        "rtf.p50",
        "rtfx.p50",
        "audio_s.p50",
        "peak_rss_mb",
        "accel_peak_mb",
        "load_s",
        "cold_ttfa_ms",
    )
    info: dict[str, Any] = {"tts_" + k.replace(".", "_"): result.metric(k) for k in keys}
    info["tts_target"] = result.target.id
    info["tts_stream_mode"] = result.stream_mode
    info["tts_rtf_direction"] = "lower is better"
    return info


def xdist_workers() -> int:
    try:
        return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    except ValueError:
        return 0
