"""Runs trials and turns chunk timestamps into metrics. Pure: no pytest, no engines.

A trial's clock starts at t0 = ``perf_counter_ns()`` just before the engine call and
stamps each chunk when the engine hands over a host-resident array (the moment
``next()`` returns). Everything else (validation, audio checks, sums) happens after
the last chunk, outside the timed region. Definitions: docs/METRICS.md.
"""

from __future__ import annotations

import gc
import itertools
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from pytest_ttsbench.measure import audio
from pytest_ttsbench.measure.prompts import split_sentences
from pytest_ttsbench.results.model import Trial

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from pytest_ttsbench.engines.base import Engine, SynthesisOptions

T = TypeVar("T")


@dataclass(frozen=True)
class Chunked:
    """A finished trial's raw capture: when each chunk arrived, and the audio."""

    t0_ns: int
    chunk_ns: list[int]  # relative to t0
    chunks: list[np.ndarray[Any, np.dtype[np.float32]]]


def capture(produce: Callable[[], Iterable[Any]]) -> Chunked:
    """Call the engine and stamp every chunk. The only timed code in the plugin."""
    stamps: list[int] = []
    raw: list[Any] = []
    clock = time.perf_counter_ns
    t0 = clock()
    for chunk in produce():
        stamps.append(clock())
        raw.append(chunk)
    return Chunked(t0, [s - t0 for s in stamps], [as_audio(c, i) for i, c in enumerate(raw)])


def as_audio(chunk: Any, index: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Validate one handed-over chunk: a host array of numbers, flattened to mono."""
    if not isinstance(chunk, np.ndarray):
        raise TypeError(
            f"chunk {index} is a {type(chunk).__module__}.{type(chunk).__name__}, not a numpy "
            "array: adapters must hand over host memory (.cpu().numpy(), np.asarray(mx.array))"
        )
    if chunk.dtype.kind not in "fiu":
        raise TypeError(f"chunk {index} has dtype {chunk.dtype}, not audio samples")
    squeezed = np.squeeze(chunk)
    if squeezed.ndim > 1:
        raise TypeError(f"chunk {index} has shape {chunk.shape}: expected mono audio")
    return np.ascontiguousarray(squeezed.reshape(-1), dtype=np.float32)


def underrun(
    arrivals_s: Sequence[float], durations_s: Sequence[float], prebuffer_s: float = 0.0
) -> tuple[int, float]:
    """Simulated player: starts at the first chunk + prebuffer, plays in real time.

    Returns (stalls, stall seconds): every time the buffer runs dry before the next
    chunk arrives counts once, for as long as it stays dry.
    """
    if not arrivals_s:
        return 0, 0.0
    play_until = arrivals_s[0] + prebuffer_s  # playback starts here
    stalls, stalled = 0, 0.0
    for k, (arrive, dur) in enumerate(zip(arrivals_s, durations_s, strict=True)):
        if k > 0 and arrive > play_until + 1e-9:
            stalls += 1
            stalled += arrive - play_until
            play_until = arrive
        play_until += dur
    return stalls, stalled


def min_prebuffer(arrivals_s: Sequence[float], durations_s: Sequence[float]) -> float:
    """The smallest prebuffer with zero stalls: max over k of a_k - (a_0 + audio before k)."""
    if not arrivals_s:
        return 0.0
    need, before = 0.0, 0.0
    for arrive, dur in zip(arrivals_s, durations_s, strict=True):
        need = max(need, arrive - arrivals_s[0] - before)
        before += dur
    return need


def trial_metrics(
    chunk_ns: Sequence[int], chunk_samples: Sequence[int], audible: Sequence[bool], sample_rate: int
) -> dict[str, float | None]:
    """Every per-trial timing metric of DESIGN.md from one trial's stamps."""
    # Empty chunks carry no audio: they neither start playback nor count as TTFA.
    nonempty = [
        (t, n, a) for t, n, a in zip(chunk_ns, chunk_samples, audible, strict=True) if n > 0
    ]
    total = sum(chunk_samples)
    audio_s = total / sample_rate
    latency_s = chunk_ns[-1] / 1e9 if chunk_ns else math.nan
    out: dict[str, float | None] = {
        "ttfa_ms": nonempty[0][0] / 1e6 if nonempty else None,
        "ttfa_audible_ms": next((t / 1e6 for t, _, a in nonempty if a), None),
        "first_chunk_s": nonempty[0][1] / sample_rate if nonempty else None,
        "latency_ms": latency_s * 1e3 if chunk_ns else None,
        "audio_s": audio_s,
        "rtf": latency_s / audio_s if audio_s > 0 else None,
        "rtfx": audio_s / latency_s if audio_s > 0 and latency_s > 0 else None,
        "samples_per_s": total / latency_s if latency_s > 0 else None,
        "chunks": float(len(chunk_ns)),
        "gap_max_ms": (
            max((b - a) for a, b in itertools.pairwise(chunk_ns)) / 1e6
            if len(chunk_ns) > 1
            else 0.0
        ),
    }
    arrivals = [t / 1e9 for t, _, _ in nonempty]
    durations = [n / sample_rate for _, n, _ in nonempty]
    stalls, stall_s = underrun(arrivals, durations)
    out["stalls"] = float(stalls)
    out["stall_s"] = stall_s
    out["min_prebuffer_ms"] = min_prebuffer(arrivals, durations) * 1e3
    return out


def build_trial(
    captured: Chunked, *, index: int, kind: str, sample_rate: int, text: str | None
) -> tuple[Trial, np.ndarray[Any, np.dtype[np.float32]]]:
    """Metrics and audio checks for a captured trial. Invalid audio -> ``problems``."""
    samples = [len(c) for c in captured.chunks]
    audible = [audio.is_audible(c, sample_rate) for c in captured.chunks]
    whole = np.concatenate(captured.chunks) if captured.chunks else np.zeros(0, dtype=np.float32)
    metrics = trial_metrics(captured.chunk_ns, samples, audible, sample_rate)
    report = audio.check(whole, sample_rate, text)
    metrics.update(report.as_metrics())
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


@dataclass(frozen=True)
class TrialPlan:
    """How many measured trials: a fixed count, or adaptive until precise."""

    trials: int = 5
    adaptive: bool = False
    precision: float = 0.05  # adaptive: CI half-width of the median latency / median
    budget_s: float = 120.0  # adaptive: stop adding trials after this many seconds
    max_trials: int = 60


def precise_enough(latencies_ms: Sequence[float], precision: float) -> bool:
    """Adaptive stop rule: the 95% CI half-width of the median within ``precision``."""
    from pytest_ttsbench.results.stats import median_ci, percentile

    if len(latencies_ms) < 6:  # below 6 the median CI cannot reach 95%
        return False
    low, high, _ = median_ci(latencies_ms)
    median = percentile(latencies_ms, 50)
    return median > 0 and (high - low) / 2 / median <= precision


def plan_trials(
    plan: TrialPlan,
    done_valid_latencies: Callable[[], list[float]],
    run_one: Callable[[int], None],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``plan.trials`` measured trials, then in adaptive mode more until precise."""
    start = clock()
    for i in range(plan.trials):
        run_one(i)
    i = plan.trials
    while (
        plan.adaptive
        and i < plan.max_trials
        and clock() - start < plan.budget_s
        and not precise_enough(done_valid_latencies(), plan.precision)
    ):
        run_one(i)
        i += 1


def collect_garbage() -> None:
    """Before each trial, so a collection does not land inside one."""
    gc.collect()


def sentence_chunks(synthesize: Callable[[str], Any], sentences: Iterable[str]) -> Iterator[Any]:
    """The harness's sentence streaming: one engine call per sentence, in order."""
    for sentence in sentences:
        yield synthesize(sentence)


def producer(
    engine: Engine, text: str, opts: SynthesisOptions, mode: str
) -> Callable[[], Iterable[Any]]:
    """What one trial calls: native streaming, sentence by sentence, or one whole call.
    The engine call happens when the returned iterable is first advanced, inside t0."""
    if mode == "native":
        return lambda: engine.stream(text, opts)
    if mode == "sentence":
        sentences = split_sentences(text)
        return lambda: sentence_chunks(lambda s: engine.synthesize(s, opts), sentences)

    def whole() -> Iterator[Any]:
        yield engine.synthesize(text, opts)

    return whole
