"""Latency: time to first audio, end-to-end latency and RTF for every prompt preset.

Copy this file to start your own suite: ask for ``tts_bench`` (and ``tts_prompt`` for
the presets), call it, and gates in pyproject.toml decide pass or fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench


@pytest.mark.tts_prompts("ultra-short", "short", "medium", "long", "ar", "tags")
def test_latency(tts_bench: TTSBench, tts_prompt: str) -> None:
    result = tts_bench(tts_prompt)
    # First audio can never come after the last: a harness that says so is broken.
    ttfa, latency = result.metric("ttfa_ms.p50"), result.metric("latency_ms.p50")
    assert ttfa is not None
    assert latency is not None
    assert ttfa <= latency
