"""Process RSS sampling and accelerator peak memory. Pure: no pytest, no engines.

Units: ``*_mb`` is MiB (2**20 bytes), as ``hardware.py``'s ``memory_mb``.

- Peak RSS: the largest RSS seen by :class:`RssSampler`, a daemon thread that reads
  this process's resident set every ``interval_s`` (10 ms by default), plus the readings
  taken at start, stop and every :meth:`RssSampler.mark`. A sampled peak can miss a
  spike shorter than the interval; it never invents one.
- RSS growth: the reading after the last trial minus the reading after the first
  (:func:`growth`). Negative growth is real (memory was returned) and kept as is.
- Leak slope: the least-squares slope of RSS over iteration index
  (:func:`slope_mb_per_iter`).
- Accelerator peak: what the framework counts itself, as the engine reports it
  (``Engine.peak_memory_bytes``; the PyTorch and MLX adapters read it with
  ``engines/device_memory.py``), reset before and read after each measured trial.

Sampler cost: a reading is one ``pread`` of ``/proc/self/statm`` on Linux (~0.6 us;
psutil's ``memory_info().rss`` elsewhere, ~6 us, the same number). The sampler thread
holds the GIL only for that and its loop, every 10 ms; its CPU time, thread wake-ups
included, is :attr:`RssSampler.cpu_s` (~50-190 us per reading, 1-2 % of one core, on
a noisy 2-core VM). Engines spend their time in native code that releases the GIL, so
the measured thread does not notice. A thread that spins in pure Python keeps the GIL
for up to ``sys.getswitchinterval()`` (5 ms) at a time and stretches the interval
(~8 ms mean there); :attr:`RssSampler.mean_interval_s` and
:attr:`RssSampler.max_interval_s` report what was achieved.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

import psutil

from pytest_ttsbench.results.details import RssSamplerStats, RssTrace
from pytest_ttsbench.results.measurement import MemoryUse
from pytest_ttsbench.results.serialize import to_json

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from pytest_ttsbench.results.trial import Trial

MIB = 2**20
# 10 ms, the coarsest the design allows: measured on a 2-core VM against Kokoro ONNX,
# 5 ms wake-ups cost the engine 2-5% of its latency (ONNX Runtime's two threads wait
# for each other; a preempted one stalls both), 10 ms no measurable cost.
DEFAULT_INTERVAL_S = 0.010
MAX_INTERVAL_S = 0.010


def _statm_reader() -> Callable[[], int] | None:
    """Linux: RSS bytes from /proc/self/statm (resident pages x page size), or None.

    The file stays open (one pread per reading). A forked child would read its
    parent's file through the inherited descriptor, so it reopens when the pid changes.
    """
    if not sys.platform.startswith("linux"):
        return None
    path = "/proc/self/statm"
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        state = [os.getpid(), os.open(path, os.O_RDONLY)]
        int(os.pread(state[1], 256, 0).split()[1])
    except (OSError, ValueError, IndexError):
        return None

    def read() -> int:
        if state[0] != os.getpid():
            os.close(state[1])
            state[:] = [os.getpid(), os.open(path, os.O_RDONLY)]
        return int(os.pread(state[1], 256, 0).split()[1]) * page

    return read


def _psutil_reader() -> Callable[[], int]:
    proc = psutil.Process()

    def read() -> int:
        return int(proc.memory_info().rss)

    return read


_read_rss: Callable[[], int] = _statm_reader() or _psutil_reader()


def rss_bytes() -> int:
    """This process's resident set size now, in bytes (psutil's ``memory_info().rss``)."""
    return _read_rss()


def rss_mb() -> float:
    """This process's resident set size now, in MiB."""
    return _read_rss() / MIB


class RssSampler:
    """Samples this process's RSS on a daemon thread; records the peak.

    Use as a context manager or with :meth:`start`/:meth:`stop`. Readings taken at
    start, at stop and by :meth:`mark` count toward the peak too. Restarting resets it.
    """

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        if not 0.0 < interval_s <= MAX_INTERVAL_S:
            raise ValueError(
                f"interval_s must be in (0, {MAX_INTERVAL_S:g}] seconds, got {interval_s!r}"
            )
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        # Each field has one writer: the sampler thread writes the _bg_* fields, the
        # owner thread the rest, so no lock is needed (int/float stores are atomic).
        self._baseline = 0
        self._fg_peak = 0  # start, stop and mark readings
        self._bg_peak = 0  # sampler-thread readings
        self._bg_count = 0
        self._bg_first_t = 0.0
        self._bg_last_t = 0.0
        self._bg_max_gap = 0.0
        self._bg_cpu_s = 0.0
        self._last = 0
        self.marks_mb: list[float] = []

    # ---- lifecycle ----------------------------------------------------------------
    def start(self) -> RssSampler:
        if self.running:
            raise RuntimeError("RssSampler is already running")
        self._reset()
        self._baseline = self._last = self._fg_peak = _read_rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ttsbench-rss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> RssSampler:
        """Stop sampling (prompt: wakes the thread) and take a final reading."""
        thread = self._thread
        if thread is None:
            return self
        self._stop.set()
        thread.join()
        self._thread = None
        self._take()
        return self

    def __enter__(self) -> RssSampler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        read, clock, wait = _read_rss, time.perf_counter, self._stop.wait
        interval = self.interval_s
        cpu0 = time.thread_time()
        due = clock() + interval
        peak, count, last, max_gap = 0, 0, 0.0, 0.0
        try:
            while not wait(max(0.0, due - clock())):
                rss = read()
                now = clock()
                if rss > peak:
                    peak = self._bg_peak = rss
                if count:
                    max_gap = max(max_gap, now - last)
                else:
                    self._bg_first_t = now
                count += 1
                last = now
                self._bg_count, self._bg_last_t, self._bg_max_gap = count, last, max_gap
                # Fixed schedule keeps the mean interval at interval_s; after a stall
                # (GIL, suspend) restart the schedule instead of bursting to catch up.
                due += interval
                if due < now:
                    due = now + interval
        finally:
            self._bg_cpu_s = time.thread_time() - cpu0

    def _take(self) -> int:
        rss = _read_rss()
        self._last = rss
        if rss > self._fg_peak:
            self._fg_peak = rss
        return rss

    def mark(self) -> float:
        """Take a reading now (e.g. after each trial), record it in ``marks_mb``; MiB."""
        value = self._take() / MIB
        self.marks_mb.append(value)
        return value

    # ---- results ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def peak_bytes(self) -> int:
        return max(self._fg_peak, self._bg_peak)

    @property
    def peak_mb(self) -> float:
        """The largest RSS seen since start, in MiB."""
        return self.peak_bytes / MIB

    @property
    def baseline_mb(self) -> float:
        """RSS at start, in MiB."""
        return self._baseline / MIB

    @property
    def last_mb(self) -> float:
        """The latest reading taken at start, stop or mark, in MiB."""
        return self._last / MIB

    @property
    def samples(self) -> int:
        """Readings taken by the sampler thread (start/stop/mark not counted)."""
        return self._bg_count

    @property
    def mean_interval_s(self) -> float | None:
        """The achieved mean time between sampler readings; None with < 2 readings."""
        count = self._bg_count
        if count < 2:
            return None
        return (self._bg_last_t - self._bg_first_t) / (count - 1)

    @property
    def max_interval_s(self) -> float | None:
        """The longest time between two sampler readings; None with < 2 readings."""
        return self._bg_max_gap if self._bg_count >= 2 else None

    @property
    def cpu_s(self) -> float:
        """CPU seconds the sampler thread used (known after stop)."""
        return self._bg_cpu_s

    @property
    def cost_per_sample_s(self) -> float | None:
        """The sampler thread's CPU seconds per reading (after stop)."""
        return self._bg_cpu_s / self._bg_count if self._bg_count else None

    @property
    def growth_mb(self) -> float | None:
        """Last mark minus first mark (see :func:`growth`)."""
        return growth(self.marks_mb)

    def stats(self) -> RssSamplerStats:
        """What the results record of this sampler (``details.rss_sampler``)."""
        return RssSamplerStats(
            peak_rss_mb=self.peak_mb,
            baseline_rss_mb=self.baseline_mb,
            rss_samples=self.samples,
            rss_interval_ms=_ms(self.mean_interval_s),
            rss_max_interval_ms=_ms(self.max_interval_s),
            rss_sampler_cpu_s=self.cpu_s,
        )

    def as_dict(self) -> dict[str, float | int | None]:
        stats: dict[str, float | int | None] = to_json(self.stats())
        return stats


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def growth(rss_readings_mb: Sequence[float]) -> float | None:
    """RSS after the last trial minus after the first; None with fewer than 2 readings.

    Negative values are kept: memory given back is a measurement, not an error.
    """
    if len(rss_readings_mb) < 2:
        return None
    return float(rss_readings_mb[-1]) - float(rss_readings_mb[0])


def slope_mb_per_iter(readings: Sequence[float]) -> float | None:
    """Least-squares slope of RSS (MiB) over iteration index 0..n-1; None if n < 2.

    The leak check's statistic: a steady leak of L MiB per synthesis gives ~L however
    noisy single readings are; growth from first to last reading is only 2 readings.
    """
    n = len(readings)
    if n < 2:
        return None
    ys = [float(y) for y in readings]
    if not all(math.isfinite(y) for y in ys):
        raise ValueError("RSS readings must be finite")
    x_mean = (n - 1) / 2.0
    y_mean = math.fsum(ys) / n
    sxy = math.fsum((i - x_mean) * (y - y_mean) for i, y in enumerate(ys))
    sxx = math.fsum((i - x_mean) ** 2 for i in range(n))
    return sxy / sxx


def usage(
    sampler: RssSampler, rss_after_trials_mb: list[float], trials: Sequence[Trial]
) -> MemoryUse:
    """What the sampler, the per-trial readings and the measured trials' accelerator
    peaks saw."""
    peaks = [
        t.accel_peak_mb for t in trials if t.kind == "measured" and t.accel_peak_mb is not None
    ]
    return MemoryUse(
        peak_rss_mb=sampler.peak_mb,
        rss_growth_mb=growth(rss_after_trials_mb),
        rss_slope_mb=slope_mb_per_iter(rss_after_trials_mb),
        accel_peak_mb=max(peaks) if peaks else None,
        rss=RssTrace(sampler=sampler.stats(), after_trials_mb=rss_after_trials_mb),
    )
