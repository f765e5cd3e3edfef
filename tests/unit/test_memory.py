"""Unit tests for pytest_ttsbench.measure.memory: RSS sampling, growth, slope."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import psutil
import pytest

from pytest_ttsbench.measure import memory

if TYPE_CHECKING:
    from collections.abc import Callable

MIB = 2**20


def test_rss_matches_psutil() -> None:
    ours = memory.rss_bytes()
    theirs = psutil.Process().memory_info().rss
    assert abs(ours - theirs) < 16 * MIB
    assert memory.rss_mb() == pytest.approx(memory.rss_bytes() / MIB, abs=16)


# Waits below are for events (readings taken), never for a duration: on a busy machine
# the sampler thread runs late, but it runs. The limit only turns a hang into a failure.
HANG_S = 60.0


def wait_for(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_S
    while not done():
        assert time.monotonic() < deadline, "the sampler thread never ran"
        time.sleep(0.001)


def test_sampler_sees_a_200_mb_allocation() -> None:
    with memory.RssSampler() as sampler:
        wait_for(lambda: sampler.samples >= 1)
        block = np.ones(200 * MIB // 8)  # touches every page
        seen = sampler.samples
        wait_for(lambda: sampler.samples >= seen + 2)  # two readings while it is held
        del block
    assert sampler.peak_mb - sampler.baseline_mb >= 150
    assert sampler.samples >= 3
    mean = sampler.mean_interval_s
    assert mean is not None
    assert mean > 0  # how close to 10 ms: test_sampler_schedule_on_a_fake_clock
    assert sampler.max_interval_s is not None
    assert sampler.max_interval_s >= mean
    assert not sampler.running


class FakeClock:
    """Stands in for the sampler's clock and its stop event: each wait advances time by
    the timeout plus a programmed lateness (a stall), and reports a stop when told."""

    def __init__(self, waits: int, late_s: dict[int, float] | None = None) -> None:
        self.now = 100.0
        self.waits = 0
        self.stop_after = waits
        self.late_s = late_s or {}
        self.readings: list[float] = []

    def perf_counter(self) -> float:
        return self.now

    def thread_time(self) -> float:
        return 0.0

    def wait(self, timeout: float) -> bool:
        self.waits += 1
        if self.waits > self.stop_after:
            return True  # stop() set the event: no reading after it
        self.now += timeout + self.late_s.get(self.waits, 0.0)
        return False

    def read(self) -> int:
        self.readings.append(self.now)
        return 100 * MIB


def run_on_fake_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> memory.RssSampler:
    monkeypatch.setattr(memory, "time", clock)
    monkeypatch.setattr(memory, "_read_rss", clock.read)
    sampler = memory.RssSampler(interval_s=0.010)
    monkeypatch.setattr(sampler, "_stop", clock)  # its wait() is the event's
    sampler._run()
    return sampler


def test_sampler_schedule_on_a_fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule itself, without a real clock: every 10 ms on time, a stall is
    reported as the longest interval and restarts the schedule (no burst to catch up),
    and a stop ends the loop at once, with no reading after it."""
    on_time = run_on_fake_clock(monkeypatch, FakeClock(waits=20))
    assert on_time.samples == 20
    assert on_time.mean_interval_s == pytest.approx(0.010)
    assert on_time.max_interval_s == pytest.approx(0.010)
    stalled_clock = FakeClock(waits=20, late_s={5: 0.035})
    stalled = run_on_fake_clock(monkeypatch, stalled_clock)
    assert stalled.samples == 20
    assert stalled.max_interval_s == pytest.approx(0.045)
    intervals = np.diff(stalled_clock.readings)
    assert intervals.min() == pytest.approx(0.010)  # after the stall: back to 10 ms
    assert len(stalled_clock.readings) == 20  # the stop came on the 21st wait


def test_sampler_thread_is_a_daemon_and_stops() -> None:
    sampler = memory.RssSampler(interval_s=0.010).start()
    threads = [t for t in threading.enumerate() if t.name == "ttsbench-rss"]
    assert threads
    assert all(t.daemon for t in threads)
    wait_for(lambda: sampler.samples >= 1)
    sampler.stop()  # wakes the thread through its event (see the fake-clock test)
    assert not any(t.name == "ttsbench-rss" and t.is_alive() for t in threading.enumerate())
    assert not sampler.running


def test_sampler_cost_is_small() -> None:
    """The sampler must not slow the measured thread (budget: 50 us per audio chunk).

    Bounded in CPU time (``thread_time``), not wall time: on a busy machine the sampler
    waits longer for a core, it does not work more. It slows the measured thread by at
    most its own CPU time (it holds the GIL only while it runs). Measured on a noisy
    2-core VM: ~50-190 us CPU per reading; the bounds are ~10x that.
    """
    clock = time.perf_counter_ns
    iterations = 200_000
    stamps: list[int] = []
    append = stamps.append
    with memory.RssSampler() as sampler:
        for _ in range(iterations):
            append(clock())
        wait_for(lambda: sampler.samples >= 3)
    cost = sampler.cost_per_sample_s
    assert cost is not None
    assert 0 < cost < 0.002  # CPU seconds per reading
    # all of the sampler's CPU time, spread over the stamps taken meanwhile
    assert sampler.cpu_s / iterations < 50e-6


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
