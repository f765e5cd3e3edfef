"""Repeated versus unique prompts: an engine that caches (phonemes, audio) answers a
repeated prompt much faster, and every benchmark that repeats one prompt would then
overstate its speed.

Repeats of the prompt and unique texts of the same length (one word per sentence
varied) alternate in ABBA order, so a machine that speeds up or slows down meanwhile
reads as no caching. This fails when repeats ran more than x1.4 faster (median RTF)
AND a one-sided Mann-Whitney test says so at p < 0.05: 4 + 4 trials can reach
p = 1/70, and noise alone flags at most 2 of the 70 orderings (docs/METRICS.md).
``--tts-trials`` sets the repeats (4 unless given); below 4 the check could never
fail, so it skips."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

REPEATS = 4  # repeats (and as many unique texts) when --tts-trials is not given


@pytest.mark.tts_prompts("short")
def test_repeated_vs_unique(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    from pytest_ttsbench.measure.cache_check import MIN_REPEATS

    repeats = asked_trials or REPEATS
    if repeats < MIN_REPEATS:
        pytest.skip(
            f"--tts-trials={repeats}: {repeats} repeats + {repeats} unique texts cannot "
            f"reach p < 0.05, so the cache check could never fail; it needs {MIN_REPEATS}"
        )
    result = tts_bench.cache_check(tts_prompt, repeats=repeats)
    check = result.cache_check
    assert check is not None
    assert check.repeated_rtf
    assert check.unique_rtf
