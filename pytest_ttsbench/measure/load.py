"""Concurrent requests against one loaded engine. Pure: no pytest.

Two shapes of load:

- closed loop: K worker threads, each sending its next request when the last ends;
- open loop: requests arrive at a target rate with exponential (Poisson) gaps, each
  on its own thread at its scheduled time, whether or not earlier ones finished.

Every request's clock starts at its **scheduled** time (open loop) or its send time
(closed loop), so a slow harness or a queue inside the engine is charged to the
engine, not hidden (LoadGen's rule against coordinated omission). The delay between
schedule and actual send is reported separately as issue lag.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.measure.engine_thread import TrialHung
from pytest_ttsbench.measure.stamps import Chunked, as_audio
from pytest_ttsbench.results.details import LoadSummary
from pytest_ttsbench.results.stats import ns_to_ms

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


@dataclass(frozen=True)
class Request:
    index: int
    scheduled_ns: int  # absolute perf_counter_ns; t0 of this request
    started_ns: int  # when the engine call was actually made
    captured: Chunked | None
    error: str | None = None

    @property
    def issue_lag_ms(self) -> float:
        return ns_to_ms(self.started_ns - self.scheduled_ns)

    @property
    def end_ns(self) -> int | None:
        if self.captured is None or not self.captured.chunk_ns:
            return None
        return self.scheduled_ns + self.captured.chunk_ns[-1]


def _one(produce: Callable[[], Iterable[Any]], index: int, scheduled_ns: int) -> Request:
    clock = time.perf_counter_ns
    started = clock()
    stamps: list[int] = []
    raw: list[Any] = []
    try:
        for chunk in produce():
            stamps.append(clock())
            raw.append(chunk)
        chunks = [as_audio(c, i) for i, c in enumerate(raw)]
    except Exception as exc:
        return Request(index, scheduled_ns, started, None, f"{type(exc).__name__}: {exc}")
    captured = Chunked(scheduled_ns, [s - scheduled_ns for s in stamps], chunks)
    return Request(index, scheduled_ns, started, captured)


def _join(threads: list[threading.Thread], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise TrialHung(f"concurrent requests did not finish within {timeout_s:g} s")


def closed_loop(
    produce: Callable[[], Iterable[Any]], concurrency: int, requests: int, timeout_s: float = 3600.0
) -> list[Request]:
    """``requests`` requests over ``concurrency`` threads, each back to back."""
    if concurrency < 1 or requests < 1:
        raise ValueError("concurrency and requests must be at least 1")
    lock = threading.Lock()
    counter = iter(range(requests))
    out: list[Request] = []

    def worker() -> None:
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            done = _one(produce, index, time.perf_counter_ns())
            with lock:
                out.append(done)

    threads = [
        threading.Thread(target=worker, name=f"ttsbench-load-{i}", daemon=True)
        for i in range(min(concurrency, requests))
    ]
    for t in threads:
        t.start()
    _join(threads, timeout_s)
    return sorted(out, key=lambda r: r.index)


def poisson_offsets(rate_hz: float, requests: int, seed: int = 0) -> list[float]:
    """Arrival times in seconds from the start: exponential gaps with mean 1/rate."""
    if rate_hz <= 0:
        raise ValueError("rate must be above 0")
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(requests):
        out.append(t)
        t += rng.expovariate(rate_hz)
    return out


def open_loop(
    produce: Callable[[], Iterable[Any]], offsets_s: list[float], timeout_s: float = 3600.0
) -> list[Request]:
    """One thread per request, started at its scheduled offset."""
    start = time.perf_counter_ns() + 5_000_000  # a moment to start the first thread
    out: list[Request] = []
    lock = threading.Lock()

    def fire(index: int, scheduled: int) -> None:
        while time.perf_counter_ns() < scheduled:
            time.sleep(max(0.0, (scheduled - time.perf_counter_ns()) / 1e9 - 0.0005))
        done = _one(produce, index, scheduled)
        with lock:
            out.append(done)

    threads = []
    for i, offset in enumerate(offsets_s):
        scheduled = start + int(offset * 1e9)
        t = threading.Thread(
            target=fire, args=(i, scheduled), name=f"ttsbench-open-{i}", daemon=True
        )
        threads.append(t)
        t.start()
    _join(threads, timeout_s + (offsets_s[-1] if offsets_s else 0.0))
    return sorted(out, key=lambda r: r.index)


# Below this speedup, concurrent requests effectively ran one at a time.
SERIALIZED_BELOW = 1.2


def throughput(requests: list[Request], sample_rate: int) -> tuple[float, float, float]:
    """(wall seconds, audio seconds, audio seconds per wall second) of finished requests."""
    ok = [r for r in requests if r.captured is not None and r.captured.chunk_ns]
    if not ok:
        return 0.0, 0.0, 0.0
    first = min(r.scheduled_ns for r in ok)
    last = max(r.end_ns or first for r in ok)
    wall = ns_to_ms(last - first) / 1000
    samples = sum(sum(len(c) for c in r.captured.chunks) for r in ok if r.captured is not None)
    audio_s = samples / sample_rate
    return wall, audio_s, (audio_s / wall if wall > 0 else 0.0)


def summarize(
    requests: list[Request], sample_rate: int, solo_throughput: float | None, parallel: bool
) -> LoadSummary:
    wall, audio_s, rate = throughput(requests, sample_rate)
    lags = sorted(r.issue_lag_ms for r in requests) or [0.0]
    speedup = rate / solo_throughput if solo_throughput else None
    return LoadSummary(
        requests=len(requests),
        errors=sum(r.error is not None for r in requests),
        wall_s=wall,
        audio_s=audio_s,
        throughput=rate,
        speedup=speedup,
        serialized=parallel and speedup is not None and speedup < SERIALIZED_BELOW,
        issue_lag_p50_ms=lags[len(lags) // 2],
        issue_lag_max_ms=lags[-1],
    )
