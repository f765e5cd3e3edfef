"""A deterministic engine whose timing is known: the plugin's own test fixture.

Chunks are handed over at fixed offsets from the call, busy-waited (not slept) so
the schedule holds to microseconds. Not registered for users: tests add it with
``SYNTHETIC_SPEC``. Knobs come from ``--tts-opt`` / ``opts.extra``:

first_ms (50), gap_ms (20), chunks (5), chars_per_s (15: sets audio length from the
text), load_ms (0), scale (1.0: multiplies every delay, to inject a regression),
leak_kb (0: memory kept per call), fail_on (0: raise on that call number),
hang (false), nan (false), silence (false), serialize (true: one call at a time),
cache (false: a repeated text returns at once, like a server with an audio cache),
variant "slow" doubles every delay.

Ground truth for the harness's stamps: every call is recorded in :attr:`handovers`
(the text, ``perf_counter_ns()`` when service began and just before each ``yield``).
Tests compare the harness's stamps with these, never with the nominal schedule: on a
busy machine a busy wait can overrun its deadline, and the handover is what counts.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import (
    Capabilities,
    Engine,
    EngineContext,
    EngineError,
    EngineSpec,
    SynthesisOptions,
)
from pytest_ttsbench.engines.lazy import lazy_module

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
else:
    np = lazy_module("numpy")

_DEFAULTS: dict[str, float] = {
    "first_ms": 50.0,
    "gap_ms": 20.0,
    "chunks": 5.0,
    "chars_per_s": 15.0,
    "load_ms": 0.0,
    "scale": 1.0,
    "leak_kb": 0.0,
    "fail_on": 0.0,
    "hang": 0.0,
    "nan": 0.0,
    "silence": 0.0,
    "serialize": 1.0,
    "cache": 0.0,
}


# Calls kept in SyntheticEngine.handovers: every test's, without growing in a soak run.
KEEP_CALLS = 10_000


@dataclass(frozen=True)
class Handover:
    """One call as the engine saw it: the ground truth for the harness's stamps."""

    text: str
    start_ns: int  # perf_counter_ns when service began (after the serialize lock)
    yields_ns: list[int] = field(default_factory=list)  # just before each chunk's yield


def _busy_until(deadline_ns: int) -> None:
    while time.perf_counter_ns() < deadline_ns:
        pass


class SyntheticEngine(Engine):
    capabilities = Capabilities(
        stream=True,
        speed=True,
        voices=True,
        languages=frozenset({"en", "ar"}),
        tags=True,
        chunk_knob="chunks",
        chunk_sweep=(2, 5, 10),
        deterministic=True,
        thread_safe=True,
    )
    sample_rate = 24000

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.calls = 0
        self._leaked: list[bytearray] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: set[str] = set()
        self.handovers: deque[Handover] = deque(maxlen=KEEP_CALLS)

    @classmethod
    def standalone(cls, **knobs: object) -> SyntheticEngine:
        """An engine outside any session (the self-check, a served test engine), with
        ``knobs`` as its ``--tts-opt`` options; not loaded yet."""
        from pathlib import Path

        from pytest_ttsbench.engines.base import WeightsLookup
        from pytest_ttsbench.results.target import Target

        ctx = EngineContext(
            target=Target("synthetic", "sim", "cpu", "default"),
            weights=WeightsLookup.not_needed(),
            options={k: str(v) for k, v in knobs.items()},
            allow_download=False,
            cache_dir=Path(),
        )
        return cls(ctx)

    def knob(self, name: str, opts: SynthesisOptions | None = None) -> float:
        raw: Any = _DEFAULTS[name]
        if name in self.ctx.options:
            raw = self.ctx.options[name]
        if opts is not None and name in opts.extra:
            raw = opts.extra[name]
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            raw = 1.0 if raw.lower() == "true" else 0.0
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise EngineError(f"synthetic knob {name}={raw!r} is not a number") from None
        return value

    def _scale(self, opts: SynthesisOptions) -> float:
        slow = 2.0 if self.target.variant == "slow" else 1.0
        return self.knob("scale", opts) * slow

    def load(self) -> None:
        _busy_until(time.perf_counter_ns() + int(self.knob("load_ms") * 1e6))

    def schedule(self, text: str, opts: SynthesisOptions) -> list[tuple[int, int]]:
        """(offset ns from the call, samples) for every chunk: the ground truth."""
        chunks = max(1, int(self.knob("chunks", opts)))
        scale = self._scale(opts)
        if self.knob("cache", opts) and text in self._seen:
            scale = 0.0  # served from the cache
        self._seen.add(text)
        first = self.knob("first_ms", opts) * scale * 1e6
        gap = self.knob("gap_ms", opts) * scale * 1e6
        audio_s = max(len(text), 1) / self.knob("chars_per_s", opts) / opts.speed
        per_chunk = max(1, int(audio_s * self.sample_rate / chunks))
        return [(int(first + k * gap), per_chunk) for k in range(chunks)]

    def _audio(self, start: int, n: int, opts: SynthesisOptions) -> np.ndarray[Any, Any]:
        t = (np.arange(start, start + n, dtype=np.float64)) / self.sample_rate
        wave = (0.3 * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)
        if self.knob("silence", opts):
            wave[:] = 0.0
        if self.knob("nan", opts):
            wave[n // 2 :] = np.nan
        return wave

    def _begin(self, opts: SynthesisOptions) -> None:
        self.calls += 1
        fail_on = int(self.knob("fail_on", opts))
        if fail_on and self.calls == fail_on:
            raise EngineError(f"synthetic failure on call {self.calls}")
        leak = int(self.knob("leak_kb", opts) * 1024)
        if leak:
            self._leaked.append(bytearray(b"\x01" * leak))  # touched: counts in RSS
        if self.knob("hang", opts):
            self._stop.wait()  # until close(): a hung engine

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        lock = self._lock if self.knob("serialize", opts) else None
        if lock:
            lock.acquire()
        start = time.perf_counter_ns()  # service starts once the lock is ours
        call = Handover(text, start)
        self.handovers.append(call)
        try:
            self._begin(opts)
            done = 0
            for offset, n in self.schedule(text, opts):
                chunk = self._audio(done, n, opts)
                done += n
                _busy_until(start + offset)
                call.yields_ns.append(time.perf_counter_ns())  # the last thing before yield
                yield chunk
        finally:
            if lock:
                lock.release()

    def synthesize(self, text: str, opts: SynthesisOptions) -> np.ndarray[Any, Any]:
        return np.concatenate(list(self.stream(text, opts)))

    def versions(self) -> dict[str, str]:
        return {"synthetic": "1"}

    def details(self) -> dict[str, object]:
        return {"schedule": "busy-waited", "options": dict(self.ctx.options)}

    def close(self) -> None:
        self._stop.set()
        self._leaked.clear()


SYNTHETIC_SPEC = EngineSpec(
    "synthetic",
    "sim",
    SyntheticEngine,
    devices=("cpu",),
    variants=("default", "slow"),
    description="deterministic test engine (busy-waited chunks at known times)",
)
