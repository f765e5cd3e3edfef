"""The cache check: does a repeated prompt run faster than unique ones? Pure: no pytest.

An engine (or a server) that caches phonemes or audio answers a prompt it has seen much
faster, and every benchmark that repeats one prompt then overstates its speed. The check
compares the RTF of repeats of the prompt with the RTF of unique texts, and calls the
engine caching only when both hold:

- significance: a one-sided Mann-Whitney U test that repeated RTFs are lower than
  unique ones gives p < ``alpha`` (0.05);
- effect size: the median unique RTF over the median repeated RTF (the speedup) is
  above ``max_speedup`` (x1.4 in the suite).

A bare ratio of medians raised false alarms: with every unique trial run before every
repeat, a machine that sped up (or slowed down) between the phases read as caching, and
the unique texts, one sentence longer, had a different RTF to begin with. So:

- Order: repeats and unique texts alternate in ABBA pairs (R U, U R, R U, U R...). A
  drift that is linear over the check adds the same time to both sides.
- Texts: each unique text is the prompt with one word per sentence swapped for another
  word of the prompt of (nearly) the same length, or a number where the prompt has too
  few words: the same sentences, the same length, new text for any whole-text or
  per-sentence cache. Paralinguistic tags (``[laugh]``) are never touched.
- Warm-ups run the repeated prompt first, so every measured repeat is a true repeat.

Measured on a simulated engine with noise and slow drift (tests/unit/test_cache_check.py):
the false-alarm rate stays below the test's 5% level by construction (with 4 + 4 trials
the test flags at most 2 of the 70 equally likely orderings), the detection of a real
cache grows with its speedup. Definitions: docs/METRICS.md.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pytest_ttsbench.measure import memory
from pytest_ttsbench.measure.prompts import split_sentences
from pytest_ttsbench.results.details import CacheCheck
from pytest_ttsbench.results.stats import mann_whitney_less

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import numpy as np

    from pytest_ttsbench.results.measurement import Measurement
    from pytest_ttsbench.results.model import BenchResult, Trial

    Audio = np.ndarray[Any, np.dtype[np.float32]]
    Produce = Callable[[], Iterable[Any]]

REPEATED = "measured"  # the repeats are the result's measured trials: its statistics
UNIQUE = "unique"  # kept in the trace, never in the statistics
ALPHA = 0.05
DEFAULT_MAX_SPEEDUP = 1.4  # the suite's threshold: repeats more than x1.4 faster
# The fewest repeats (and as many unique texts) whose test can reach p < 0.05:
# 4 + 4 gives 1/70 at best, 3 + 3 only 1/20.
MIN_REPEATS = 4


# ---- the plan: order and texts -----------------------------------------------------------
def schedule(pairs: int) -> list[str]:
    """ABBA order: R U, U R, R U, ... Each pair swaps which side goes first, so over
    two pairs both sides sit at the same mean position and a linear drift cancels."""
    order: list[str] = []
    for k in range(pairs):
        order += [REPEATED, UNIQUE] if k % 2 == 0 else [UNIQUE, REPEATED]
    return order


# Tags and markup are instructions to the engine, not words to vary.
_TAG = re.compile(r"\[[^\]]*\]|<[^>]*>")
_WORD = re.compile(r"\w+")  # letters and digits of any script


def _word_spans(sentence: str) -> list[tuple[int, int]]:
    tags = [m.span() for m in _TAG.finditer(sentence)]
    return [
        m.span() for m in _WORD.finditer(sentence) if not any(a <= m.start() < b for a, b in tags)
    ]


def _candidates(sentence: str, vocabulary: list[str], numbers: list[str]) -> list[str]:
    """Every variant of one sentence with one word replaced: words of the prompt closest
    in length first, then numbers (so a short prompt still has enough variants)."""
    spans = _word_spans(sentence)
    if not spans:
        return []

    def swap(span: tuple[int, int], word: str) -> str:
        return sentence[: span[0]] + word + sentence[span[1] :]

    ranked: list[tuple[int, str]] = []
    for a, b in spans:
        ranked += [
            (abs(len(w) - (b - a)), swap((a, b), w)) for w in vocabulary if w != sentence[a:b]
        ]
    ranked.sort(key=lambda c: c[0])  # stable: earlier words first among equal lengths
    out = [text for _, text in ranked]
    for number in numbers:
        closest = min(spans, key=lambda s: abs(s[1] - s[0] - len(number)))
        if sentence[closest[0] : closest[1]] != number:
            out.append(swap(closest, number))
    return out


def unique_texts(text: str, count: int) -> list[str]:
    """``count`` texts, all different from ``text`` and from each other, each the prompt
    with one word per sentence replaced by a word of about the same length: as many
    sentences and about as many characters as the prompt."""
    sentences = split_sentences(text)
    vocabulary = list(
        dict.fromkeys(s[a:b] for s in sentences for a, b in _word_spans(s) if not s[a:b].isdigit())
    )
    numbers = [str(n) for n in range(11, 11 + count)]
    options = [_candidates(s, vocabulary, numbers) for s in sentences]
    longest = max((len(o) for o in options), default=0)
    seen = {text}
    out: list[str] = []
    for v in range(longest):  # the sentence with the most variants keeps them apart
        variant = " ".join(
            o[v % len(o)] if o else s for s, o in zip(sentences, options, strict=True)
        )
        if variant not in seen:
            seen.add(variant)
            out.append(variant)
            if len(out) == count:
                return out
    # no word to vary at all (only tags or punctuation): a number at the end
    return out + [f"{text} {n}" for n in numbers if f"{text} {n}" not in seen][: count - len(out)]


# ---- the verdict -------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheVerdict:
    """What the check concluded: caching needs significance and a large enough speedup."""

    speedup: float | None  # median unique RTF / median repeated RTF
    p_value: float | None  # one-sided Mann-Whitney: repeated RTF lower than unique
    caching: bool
    n_repeated: int
    n_unique: int


def speedup_of(unique_rtf: list[float], repeated_rtf: list[float]) -> float | None:
    """Median unique RTF over median repeated RTF: > 1 when repeats ran faster."""
    if not unique_rtf or not repeated_rtf:
        return None
    repeated = statistics.median(repeated_rtf)
    return statistics.median(unique_rtf) / repeated if repeated > 0 else None


def judge(check: CacheCheck, max_speedup: float, alpha: float = ALPHA) -> CacheVerdict:
    """Caching when repeats ran significantly faster (p < ``alpha``) AND by more than
    ``max_speedup``: significance alone flags a harmless 2% cache, a ratio alone flags
    noise."""
    unique, repeated = check.unique_rtf, check.repeated_rtf
    speedup = speedup_of(unique, repeated)
    p_value = mann_whitney_less(repeated, unique) if unique and repeated else None
    caching = (
        speedup is not None and p_value is not None and speedup > max_speedup and p_value < alpha
    )
    return CacheVerdict(speedup, p_value, caching, len(repeated), len(unique))


def caching_message(result: BenchResult, max_speedup: float, alpha: float = ALPHA) -> str | None:
    """The failure message when repeated prompts ran significantly more than
    ``max_speedup`` faster: the ratio, the p-value and the fix."""
    check = result.cache_check
    if check is None:
        return None
    verdict = judge(check, max_speedup, alpha)
    if not verdict.caching or verdict.speedup is None or verdict.p_value is None:
        return None
    repeated = statistics.median(check.repeated_rtf)
    unique = statistics.median(check.unique_rtf)
    return (
        f"{result.target.id}: a repeated prompt ran x{verdict.speedup:.2f} faster than "
        f"unique ones of the same length (RTF p50 {repeated:.3f} vs {unique:.3f}; "
        f"{verdict.n_repeated} + {verdict.n_unique} interleaved trials, one-sided "
        f"Mann-Whitney p = {verdict.p_value:.3f} < {alpha:g}): the engine caches, so "
        "benchmarks that repeat one prompt overstate its speed; use unique prompts "
        "(or clear the engine's cache between trials)"
    )


def cache_note(check: CacheCheck, max_speedup: float, alpha: float = ALPHA) -> str | None:
    """What the user should know when the check could not decide either way."""
    verdict = judge(check, max_speedup, alpha)
    floor = 1.0
    if verdict.n_repeated and verdict.n_unique:
        floor = mann_whitney_less([0.0] * verdict.n_repeated, [1.0] * verdict.n_unique)
    if floor >= alpha:
        return (
            f"cache check: {verdict.n_repeated} + {verdict.n_unique} valid trials cannot "
            f"reach p < {alpha:g} (it needs {MIN_REPEATS} of each); it cannot fail, "
            f"raise repeats to {MIN_REPEATS} or more"
        )
    if not verdict.caching and verdict.speedup is not None and verdict.speedup > max_speedup:
        return (
            f"cache check: repeats ran x{verdict.speedup:.2f} faster, not significant "
            f"(p = {verdict.p_value:.3f}): noise, or a cache too few trials could show; "
            "raise repeats to be sure"
        )
    return None


# ---- the run -----------------------------------------------------------------------------
def interleave(text: str, pairs: int, run: Callable[[str, str, int], float | None]) -> CacheCheck:
    """Run ``pairs`` repeats of ``text`` and as many unique texts in ABBA order.
    ``run(kind, text, index)`` does one trial and returns its RTF, None when invalid."""
    texts = unique_texts(text, pairs)
    rtfs: dict[str, list[float]] = {REPEATED: [], UNIQUE: []}
    done = {REPEATED: 0, UNIQUE: 0}
    for kind in schedule(pairs):
        index = done[kind]
        done[kind] += 1
        rtf = run(kind, text if kind == REPEATED else texts[index], index)
        if rtf is not None:
            rtfs[kind].append(rtf)
    unique, repeated = rtfs[UNIQUE], rtfs[REPEATED]
    return CacheCheck(
        unique_rtf=unique, repeated_rtf=repeated, speedup=speedup_of(unique, repeated)
    )


class _Slot(Protocol):
    @property
    def broken(self) -> str | None: ...


class TrialRunner(Protocol):
    """What the check needs of ``runners._Trials``: one trial of any text."""

    @property
    def slot(self) -> _Slot: ...

    @property
    def produce(self) -> Produce: ...

    def producer(self, text: str) -> Produce: ...

    def one(self, produce: Produce, index: int, kind: str) -> tuple[Trial, Audio | None]: ...

    def finish(self, run: Measurement) -> Measurement: ...


def run(
    trials: TrialRunner,
    measurement: Measurement,
    text: str,
    pairs: int,
    max_speedup: float,
) -> Measurement:
    """The measured part of the check, after the cold trial and the warm-ups: the
    interleaved trials with the RSS sampler running; the repeats' audio goes to
    ``measurement.clips`` by trial index.
    ``pairs`` below :data:`MIN_REPEATS` is raised to it: fewer could never fail."""
    pairs = max(pairs, MIN_REPEATS)
    rss: list[float] = []
    errors: list[str] = []

    def one(kind: str, text: str, index: int) -> float | None:
        if errors or trials.slot.broken:
            return None  # a crashed or hung engine gets no more trials
        produce = trials.produce if kind == REPEATED else trials.producer(text)
        trial, whole = trials.one(produce, index, kind)
        measurement.trials.append(trial)
        rss.append(memory.rss_mb())
        if trial.error:
            errors.append(trial.error)
        if kind == REPEATED and whole is not None:
            measurement.clips[trial.index] = whole
        if not trial.valid:
            return None
        rtf = trial.metrics.get("rtf")
        return None if rtf is None else float(rtf)

    with memory.RssSampler() as sampler:
        check = interleave(text, pairs, one)
    measurement.shape = check
    measurement.memory = memory.usage(sampler, rss, measurement.trials)
    trials.finish(measurement)
    note = cache_note(check, max_speedup)
    if note:
        measurement.note(note)
    return measurement
