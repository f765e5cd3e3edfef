"""Turns a trial's chunk stamps into metrics and checks its audio. Pure: no pytest,
no engines.

The stamps come from :mod:`pytest_ttsbench.measure.stamps` (t0 just before the engine
call, each chunk when a host-resident array is handed over). Everything here (validation,
audio checks, sums) happens after the last chunk, outside the timed region.
Definitions: docs/METRICS.md.
"""

from __future__ import annotations

import gc
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.measure import audio, seams
from pytest_ttsbench.results.model import Trial
from pytest_ttsbench.results.stats import gaps_ms, ns_to_ms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.measure.stamps import Chunked


# The clock ticks in whole nanoseconds: a player stalls only when a chunk is at least
# that late. Absorbs the rounding of float sums, so the minimum prebuffer never stalls.
_CLOCK_TICK_MS = 1e-6


def underrun(
    arrivals_ms: Sequence[float], durations_ms: Sequence[float], prebuffer_ms: float = 0.0
) -> tuple[int, float]:
    """Simulated player: starts at the first chunk + prebuffer, plays in real time.

    Returns (stalls, stall ms): every time the buffer runs dry before the next
    chunk arrives counts once, for as long as it stays dry.
    """
    if not arrivals_ms:
        return 0, 0.0
    play_until = arrivals_ms[0] + prebuffer_ms  # playback starts here
    stalls, stalled = 0, 0.0
    for k, (arrive, dur) in enumerate(zip(arrivals_ms, durations_ms, strict=True)):
        if k > 0 and arrive > play_until + _CLOCK_TICK_MS:
            stalls += 1
            stalled += arrive - play_until
            play_until = arrive
        play_until += dur
    return stalls, stalled


def min_prebuffer(arrivals_ms: Sequence[float], durations_ms: Sequence[float]) -> float:
    """The smallest prebuffer with zero stalls: max over k of a_k - (a_0 + audio before k)."""
    if not arrivals_ms:
        return 0.0
    need, before = 0.0, 0.0
    for arrive, dur in zip(arrivals_ms, durations_ms, strict=True):
        need = max(need, arrive - arrivals_ms[0] - before)
        before += dur
    return need


def playback(
    chunk_ns: Sequence[int], chunk_samples: Sequence[int], sample_rate: int
) -> tuple[list[float], list[float]]:
    """What the simulated player sees, in ms: each non-empty chunk's arrival (the same
    :func:`ns_to_ms` of the same stamp as TTFA) and its audio duration."""
    arrivals, durations = [], []
    for t, n in zip(chunk_ns, chunk_samples, strict=True):
        if n > 0:  # empty chunks carry no audio: they never start or feed playback
            arrivals.append(ns_to_ms(t))
            durations.append(n * 1000 / sample_rate)
    return arrivals, durations


def trial_metrics(
    chunk_ns: Sequence[int], chunk_samples: Sequence[int], audible: Sequence[bool], sample_rate: int
) -> dict[str, float | None]:
    """Every per-trial timing metric of docs/METRICS.md from one trial's stamps.

    Each time is one :func:`ns_to_ms` of an integer stamp (or of an integer difference),
    and every rate derives from those ms, so the stamps' orderings hold exactly:
    TTFA <= TTFA audible <= latency, and one chunk gives TTFA == latency."""
    # Empty chunks carry no audio: they neither start playback nor count as TTFA.
    nonempty = [
        (t, n, a) for t, n, a in zip(chunk_ns, chunk_samples, audible, strict=True) if n > 0
    ]
    total = sum(chunk_samples)
    audio_s = total / sample_rate
    latency_ms = ns_to_ms(chunk_ns[-1]) if chunk_ns else None
    latency_s = latency_ms / 1000 if latency_ms is not None else math.nan
    out: dict[str, float | None] = {
        "ttfa_ms": ns_to_ms(nonempty[0][0]) if nonempty else None,
        "ttfa_audible_ms": next((ns_to_ms(t) for t, _, a in nonempty if a), None),
        "first_chunk_s": nonempty[0][1] / sample_rate if nonempty else None,
        "latency_ms": latency_ms,
        "audio_s": audio_s,
        "rtf": latency_s / audio_s if audio_s > 0 else None,
        "rtfx": audio_s / latency_s if audio_s > 0 and latency_s > 0 else None,
        "samples_per_s": total / latency_s if latency_s > 0 else None,
        "chunks": float(len(chunk_ns)),
        "gap_max_ms": max(gaps_ms(chunk_ns), default=0.0),
    }
    arrivals, durations = playback(chunk_ns, chunk_samples, sample_rate)
    stalls, stall_ms = underrun(arrivals, durations)
    out["stalls"] = float(stalls)
    out["stall_s"] = stall_ms / 1000
    out["min_prebuffer_ms"] = min_prebuffer(arrivals, durations)
    return out


def build_trial(
    captured: Chunked,
    *,
    index: int,
    kind: str,
    sample_rate: int,
    text: str | None,
    speed: float = 1.0,
    capped: bool = False,
) -> tuple[Trial, np.ndarray[Any, np.dtype[np.float32]]]:
    """Metrics and audio checks for a captured trial. Invalid audio -> ``problems``.
    ``speed`` is the speed the engine was asked for: the speaking-rate band scales with
    it, as it follows the script of ``text`` (:func:`audio.chars_per_s_band`).
    ``capped``: the call had a length cap, which may cut the audio short by request."""
    samples = [len(c) for c in captured.chunks]
    audible = [audio.is_audible(c, sample_rate) for c in captured.chunks]
    whole = np.concatenate(captured.chunks) if captured.chunks else np.zeros(0, dtype=np.float32)
    metrics = trial_metrics(captured.chunk_ns, samples, audible, sample_rate)
    band = audio.chars_per_s_band(text, speed) if text is not None else None
    report = audio.check(whole, sample_rate, text, band, capped=capped)
    metrics.update(report.as_metrics())
    # audible discontinuities where chunks meet (0 for one chunk; None without audio)
    metrics["seams"] = float(seams.count_seams(whole, samples, sample_rate)) if whole.size else None
    problems = list(report.problems)
    if not captured.chunks:
        problems.append("the engine handed over no chunk at all")
    trial = Trial(
        index=index,
        kind=kind,
        t0_ns=captured.t0_ns,
        chunk_ns=captured.chunk_ns,
        chunk_samples=samples,
        sample_rate=sample_rate,
        metrics=metrics,
        problems=problems,
    )
    return trial, whole


def collect_garbage() -> None:
    """Before each trial, so a collection does not land inside one."""
    gc.collect()


def failed_trial(index: int, kind: str, sample_rate: int, error: str) -> Trial:
    """A trial whose engine raised, hung or handed over no audio: kept, never measured."""
    return Trial(
        index=index,
        kind=kind,
        t0_ns=0,
        chunk_ns=[],
        chunk_samples=[],
        sample_rate=sample_rate,
        error=error,
    )
