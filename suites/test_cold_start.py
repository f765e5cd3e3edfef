"""Cold start in a fresh process per run: interpreter, import, model load and the
first synthesis. The number serverless deployments pay on every scale-up.
``--tts-trials`` sets the runs (2 unless given: each pays the whole import and load)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

RUNS = 2  # fresh processes when --tts-trials is not given


@pytest.mark.tts_prompts("short")
def test_cold_start(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    result = tts_bench.cold_start(tts_prompt, runs=asked_trials or RUNS)
    cold = result.cold_start
    assert cold is not None
    assert result.load_s is not None
    assert result.load_s > 0
    assert all(wall >= load for wall, load in zip(cold.wall_s, cold.load_s, strict=True))
