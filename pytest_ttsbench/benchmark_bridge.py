"""The pytest-benchmark bridge: when that plugin is active (and not under xdist, where
it disables itself), a benchmark's measured latencies also feed its ``benchmark``
fixture through a replay clock, so ``--benchmark-json`` and ``--benchmark-compare``
see the harness's own trials, with the TTS metrics in ``extra_info``.

plugin.py registers a :class:`BenchmarkBridge` only when pytest-benchmark is loaded;
without it nothing here runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult

BRIDGE_NAME = "ttsbench-benchmark-bridge"
BENCH_FIXTURE = "tts_bench"  # the fixture that calls feed_pytest_benchmark


class BenchmarkBridge:
    """Marks each tts_bench item with a replay clock as its pytest-benchmark timer."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.clocks: dict[str, ReplayClock] = {}

    @pytest.hookimpl(trylast=True)  # after plugin.py has deselected what is not run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if self._feeds(item):
                clock = ReplayClock()
                self.clocks[item.nodeid] = clock
                item.add_marker(pytest.mark.benchmark(timer=clock))

    def replay_clock(self, node: pytest.Item) -> ReplayClock | None:
        return self.clocks.get(node.nodeid)

    def _feeds(self, item: pytest.Item) -> bool:
        """Only benchmarks, only when pytest-benchmark runs, never over a user's timer."""
        if BENCH_FIXTURE not in getattr(item, "fixturenames", ()):
            return False
        option = self.config.getoption
        if option("benchmark_disable", False) or option("benchmark_skip", False):
            return False
        marker = item.get_closest_marker("benchmark")
        return marker is None or "timer" not in marker.kwargs


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
    """The registry's extra_info metrics as ``tts_<flat name>`` (dots as underscores)."""
    from pytest_ttsbench.results import metrics  # here: plugin.py imports this module at load

    names = metrics.flat_names("extra_info")
    info: dict[str, Any] = {"tts_" + k.replace(".", "_"): result.metric(k) for k in names}
    info["tts_target"] = result.target.id
    info["tts_stream_mode"] = result.stream_mode
    info["tts_rtf_direction"] = f"{metrics.BY_NAME['rtf'].better} is better"
    return info


def xdist_workers() -> int:
    try:
        return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    except ValueError:
        return 0
