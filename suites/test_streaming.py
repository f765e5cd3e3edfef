"""Streaming cadence and playback continuity: when chunks arrive, whether a player fed
in real time would run dry, and how much prebuffer avoids that.

Native streaming and the harness's sentence mode run side by side; where the engine
has a chunking knob (Chatterbox-streaming ``chunk_size``, MLX ``streaming_interval``),
it is swept over the adapter's small / default / large values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

CHUNKING = ("small", "default", "large")


@pytest.mark.tts_prompts("medium")  # --tts-prompts=long shows multi-batch streaming
@pytest.mark.parametrize("mode", ["native", "sentence"])
@pytest.mark.parametrize("chunking", CHUNKING)
def test_streaming(tts_bench: TTSBench, tts_prompt: str, mode: str, chunking: str) -> None:
    caps = tts_bench.handle.engine.capabilities
    knobs: dict[str, Any] = {}
    if chunking != "default":
        if mode != "native" or not caps.chunk_knob or len(caps.chunk_sweep) < 3:
            pytest.skip(f"{tts_bench.handle.target.id}: no chunking knob to sweep in {mode} mode")
        knobs[caps.chunk_knob] = caps.chunk_sweep[0 if chunking == "small" else 2]
    result = tts_bench(tts_prompt, mode=mode, params={"mode": mode, **knobs}, **knobs)
    gaps_p95, stalls = result.metric("chunk_gap_ms.p95"), result.metric("stalls.max")
    prebuffer = result.metric("min_prebuffer_ms.max")
    assert stalls is not None
    assert prebuffer is not None
    # A player given the minimum prebuffer never stalls; with none it stalls iff that
    # prebuffer is positive. Cadence numbers go to the table; gates judge them.
    assert (stalls == 0) == (prebuffer == 0) or gaps_p95 is None
