"""The cache check: interleaved order, same-length unique texts, and a verdict that needs
significance and effect size. Its false-alarm and detection rates are measured here on a
simulated engine with noise and slow drift (fast: no clock, no engine thread)."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.synthetic import SYNTHETIC_SPEC, SyntheticEngine
from pytest_ttsbench.matrix.pool import EngineHandle, EnginePool
from pytest_ttsbench.matrix.targets import MatrixEntry
from pytest_ttsbench.measure import cache_check, runners
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.measure.prompts import presets, split_sentences
from pytest_ttsbench.measure.request import Ask, prepare
from pytest_ttsbench.results.details import CacheCheck
from pytest_ttsbench.results.model import BenchResult
from pytest_ttsbench.results.target import Target

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    Check = Callable[["SimulatedEngine", str], bool]

SUITE_REPEATS = 4  # suites/test_caching.py
SIMULATED_CHECKS = 400


# ---- order and texts ---------------------------------------------------------------------
def test_schedule_is_abba_and_cancels_a_linear_drift() -> None:
    order = cache_check.schedule(4)
    assert order == ["measured", "unique", "unique", "measured"] * 2
    positions = {kind: [i for i, k in enumerate(order) if k == kind] for kind in set(order)}
    assert sum(positions["measured"]) == sum(positions["unique"])


@pytest.mark.parametrize("name", sorted(presets()))
def test_unique_texts_keep_sentences_and_length(name: str) -> None:
    text = presets()[name].text
    texts = cache_check.unique_texts(text, 8)
    assert len(texts) == 8
    assert len({text, *texts}) == 9  # new to the engine, and to each other
    for variant in texts:
        # not "Reference number N. " + prompt: no added sentence, about the same length
        assert len(split_sentences(variant)) == len(split_sentences(text))
        assert abs(len(variant) - len(text)) <= max(3, len(text) // 10)
        for tag in ("[laugh]", "[sigh]"):
            assert variant.count(tag) == text.count(tag)  # tags are never varied


def test_every_sentence_varies() -> None:
    # a per-sentence cache (sentence streaming) must miss on every unique text
    text = presets()["medium"].text
    for variant in cache_check.unique_texts(text, 4):
        for ours, theirs in zip(split_sentences(variant), split_sentences(text), strict=True):
            assert ours != theirs


def test_tiny_prompts_still_get_distinct_texts() -> None:
    assert len(set(cache_check.unique_texts("Hello there.", 6))) == 6
    assert len(set(cache_check.unique_texts("Hi.", 5))) == 5
    assert cache_check.unique_texts("[laugh]", 2) == ["[laugh] 11", "[laugh] 12"]


# ---- the verdict -------------------------------------------------------------------------
def check_of(unique: list[float], repeated: list[float]) -> CacheCheck:
    return CacheCheck(unique, repeated, cache_check.speedup_of(unique, repeated))


def test_no_ordering_of_noise_alone_flags_more_than_5_percent() -> None:
    """Exchangeable noise makes all 70 splits of 8 values into 4 repeats and 4 unique
    equally likely; the test may flag at most 2 of them (p = 1/70, 2/70), whatever the
    noise, so its false-alarm rate on a machine that does not drift is at most 2.9%."""
    values = [0.30, 0.33, 0.41, 0.52, 0.55, 0.71, 0.90, 1.40]
    flagged = 0
    for picked in itertools.combinations(range(8), 4):
        repeated = [values[i] for i in picked]
        unique = [values[i] for i in range(8) if i not in picked]
        flagged += cache_check.judge(check_of(unique, repeated), max_speedup=1.0).caching
    assert flagged == 2


def test_significance_and_effect_size_are_both_needed() -> None:
    # a 2% cache, highly significant: harmless, not flagged
    tiny = check_of([1.00, 1.01, 1.02, 1.03], [0.97, 0.98, 0.985, 0.99])
    verdict = cache_check.judge(tiny, 1.4)
    assert verdict.p_value is not None
    assert verdict.p_value < 0.05
    assert not verdict.caching
    # x2 by the medians, but the sides overlap: noise, not flagged
    noisy = check_of([0.4, 1.0, 1.2, 3.0], [0.3, 0.5, 0.6, 2.0])
    verdict = cache_check.judge(noisy, 1.4)
    assert verdict.speedup is not None
    assert verdict.speedup > 1.4
    assert not verdict.caching
    # both: flagged
    assert cache_check.judge(check_of([1.0, 1.1, 1.2, 1.3], [0.1, 0.1, 0.2, 0.2]), 1.4).caching


def test_the_message_states_ratio_p_value_and_fix() -> None:
    base = BenchResult(
        Target("m", "b", "cpu", "default"), "t", "cache", "short", 45, "en", "native", "h", 1
    )
    result = replace(base, cache_check=check_of([0.50, 0.52, 0.55, 0.60], [0.05, 0.06, 0.05, 0.07]))
    message = cache_check.caching_message(result, 1.4)
    assert message is not None
    assert message.startswith("m-b-cpu: a repeated prompt ran x")
    assert "p = 0.014 < 0.05" in message
    assert "the engine caches" in message
    assert "use unique prompts" in message
    few = check_of([0.50, 0.52], [0.05, 0.06])  # too few to conclude
    assert cache_check.caching_message(replace(base, cache_check=few), 1.4) is None
    note = cache_check.cache_note(few, 1.4)
    assert note is not None
    assert "cannot reach p < 0.05" in note


# ---- false alarms and detection, simulated -------------------------------------------------
class SimulatedEngine:
    """RTF of each trial of an engine on a busy machine: per-sentence and per-character
    cost, lognormal noise, 5% of trials twice as slow, and a slow drift (a warm-up decay,
    a wave and a trend, each random). ``cache``: a text seen before runs that much faster."""

    def __init__(self, rng: random.Random, sigma: float, drift: float, cache: float) -> None:
        self.rng, self.sigma, self.cache = rng, sigma, cache
        self.seen: set[str] = set()
        self.step = 0
        self.decay, self.tau = rng.uniform(-drift, drift), rng.uniform(2, 20)
        self.wave, self.period = rng.uniform(0, drift), rng.uniform(10, 80)
        self.phase, self.trend = rng.uniform(0, 2 * math.pi), rng.uniform(-drift, drift) / 20

    def __call__(self, kind: str, text: str, index: int) -> float:
        t = self.step
        self.step += 1
        wave = self.wave * math.sin(2 * math.pi * t / self.period + self.phase)
        speed = max(0.2, 1 + self.decay * math.exp(-t / self.tau) + wave + self.trend * t)
        latency_ms = (40 * len(split_sentences(text)) + 6 * len(text)) * speed
        latency_ms *= self.rng.lognormvariate(0, self.sigma)
        if self.rng.random() < 0.05:
            latency_ms *= 2
        if text in self.seen:
            latency_ms /= self.cache
        self.seen.add(text)
        return latency_ms / 1000 / (len(text) / 15)  # 15 characters per audio second


def interleaved(engine: SimulatedEngine, text: str) -> bool:
    """The check as the runner does it, on the simulated engine."""
    engine("cold", text, 0)
    engine("warmup", text, 0)
    result = cache_check.interleave(text, SUITE_REPEATS, engine)
    return cache_check.judge(result, cache_check.DEFAULT_MAX_SPEEDUP).caching


def unique_first(engine: SimulatedEngine, text: str) -> bool:
    """The check before: every unique text ("Reference number N. " + prompt) first,
    then the repeats, and a bare ratio of medians."""
    engine("cold", text, 0)
    engine("warmup", text, 0)
    unique = [engine("unique", f"Reference number {4711 + 37 * i}. {text}", i) for i in range(4)]
    repeated = [engine("measured", text, i) for i in range(4)]
    return statistics.median(unique) / statistics.median(repeated) > 1.4


def rate(
    check: Check, *, cache: float, seed: int, sigma: float = 0.25, drift: float = 0.3
) -> float:
    rng = random.Random(seed)
    text = presets()["short"].text  # the suite's prompt
    flagged = sum(
        check(SimulatedEngine(rng, sigma, drift, cache), text) for _ in range(SIMULATED_CHECKS)
    )
    return flagged / SIMULATED_CHECKS


def test_false_alarm_rate_on_a_noisy_drifting_engine_that_caches_nothing() -> None:
    assert rate(interleaved, cache=1.0, seed=1) < 0.05
    assert rate(interleaved, cache=1.0, seed=1, sigma=0.6, drift=0.6) < 0.05
    # the simulation bites: the old order and verdict raise false alarms on it
    assert rate(unique_first, cache=1.0, seed=1) > 0.05


def test_detection_rate_on_an_engine_that_caches() -> None:
    assert rate(interleaved, cache=3.0, seed=2) > 0.9
    assert rate(interleaved, cache=10.0, seed=2) == 1.0  # an audio cache: near-instant


# ---- through the runner, on the synthetic engine -------------------------------------------
FAST = {"first_ms": "4", "gap_ms": "1", "chunks": "2"}


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[EnginePool]:
    engines = EnginePool({}, allow_download=False, cache_dir=tmp_path, load_timeout_s=30)
    yield engines
    engines.close_all()


def run_check(pool: EnginePool, **options: str) -> tuple[EngineHandle, BenchResult]:
    target = Target("synthetic", "sim", "cpu", "default")
    pool.options = {**FAST, **options}
    handle = pool.acquire(MatrixEntry(target, SYNTHETIC_SPEC))
    request = prepare(Ask("short"), handle.engine.capabilities, target.id, "auto")
    result = BenchResult(
        target, "t", "caching", "short", request.prompt.chars, "en", request.mode, "h", 0
    )
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=SUITE_REPEATS))
    return handle, result.measured_by(runners.cache_check(handle, request, spec))


def test_the_runner_interleaves_same_length_texts(pool: EnginePool) -> None:
    handle, result = run_check(pool)
    kinds = [t.kind for t in result.trials]
    # the cold trial and one warm-up (even with warmup=0) run the repeated prompt first
    assert kinds == ["cold", "warmup", *cache_check.schedule(SUITE_REPEATS)]
    check = result.cache_check
    assert check is not None
    assert len(check.repeated_rtf) == len(check.unique_rtf) == SUITE_REPEATS
    assert check.repeated_rtf == result.series("rtf")
    assert cache_check.caching_message(result, 1.4) is None
    text = presets()["short"].text
    assert isinstance(handle.engine, SyntheticEngine)
    texts = [call.text for call in handle.engine.handovers]
    assert texts[:2] == [text, text]  # cold, warm-up
    measured = iter(cache_check.unique_texts(text, SUITE_REPEATS))
    expected = [text if kind == "measured" else next(measured) for kind in kinds[2:]]
    assert texts[2:] == expected
    unique = [t for t in result.trials if t.kind == "unique"]
    # same sentences, about the same length: about the same audio
    for trial in unique:
        assert trial.metrics["chunks"] == 2
        samples = sum(trial.chunk_samples)
        assert abs(samples - sum(result.measured[0].chunk_samples)) <= 0.05 * samples


def test_the_runner_catches_a_caching_engine(pool: EnginePool) -> None:
    _, result = run_check(pool, cache="1")
    message = cache_check.caching_message(result, 1.4)
    assert message is not None
    assert "the engine caches" in message
    assert "Mann-Whitney p = 0.014" in message
