"""Fidelity: does a faster configuration still say the text? The shipped prompt set (8
English sentences) through the configuration under test and a reference configuration
of the same model; the row gives the CER difference and the duration ratio with their
paired 95% intervals and, where both sides are deterministic, how far the audio moved
(log-mel L1, MCD with its DTW penalty). Gates judge the differences from their
intervals: ``cer_delta <= 0.02`` passes only when the whole interval is under 0.02.

- ``test_streaming_fidelity``: each streaming mode against whole-utterance synthesis.
- ``test_chunk_fidelity``: the small streaming chunk against the engine's default one.
- ``test_fidelity``: this run's configuration (``--tts-stream``, a ``--tts-sweep``
  point, ``--tts-variant``) against the reference ``--tts-reference`` names, e.g.
  ``--tts-reference speed=1.0 --tts-sweep speed=1.1`` or
  ``--tts-reference mode=native --tts-stream=sentence``; skipped when none is named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.measure.prompts import prompt_set

if TYPE_CHECKING:
    from pytest_ttsbench import BenchResult, TTSBench

WHOLE = {"mode": "none"}  # the reference of the streaming comparisons


def _all_prompts_compared(result: BenchResult) -> None:
    """Every prompt of the set had a usable rendering on both sides: a comparison that
    silently dropped prompts would judge fewer than it says."""
    found = result.fidelity
    assert found is not None
    shipped = len(prompt_set("fidelity"))
    assert found.prompts == shipped, f"{shipped - found.prompts} prompt(s) not compared"
    assert found.duration_ratio is not None


@pytest.mark.parametrize("mode", ["native", "sentence"])
def test_streaming_fidelity(tts_bench: TTSBench, mode: str, asked_trials: int | None) -> None:
    if mode == "native" and not tts_bench.handle.engine.capabilities.stream:
        pytest.skip(f"{tts_bench.handle.target.id}: no native streaming to compare")
    result = tts_bench.fidelity(WHOLE, mode=mode, trials=asked_trials)
    _all_prompts_compared(result)


def test_chunk_fidelity(tts_bench: TTSBench, asked_trials: int | None) -> None:
    caps = tts_bench.handle.engine.capabilities
    if not caps.stream or not caps.chunk_knob or len(caps.chunk_sweep) < 3:
        pytest.skip(f"{tts_bench.handle.target.id}: no streaming chunk knob to compare")
    knob, small, default = caps.chunk_knob, caps.chunk_sweep[0], caps.chunk_sweep[1]
    knobs: dict[str, Any] = {knob: small}
    result = tts_bench.fidelity({knob: default}, mode="native", trials=asked_trials, **knobs)
    _all_prompts_compared(result)


def test_fidelity(tts_bench: TTSBench, tts_sweep: dict[str, Any], asked_trials: int | None) -> None:
    knobs = dict(tts_sweep)
    speed = knobs.pop("speed", None)
    result = tts_bench.fidelity(
        speed=None if speed is None else float(speed), trials=asked_trials, **knobs
    )
    _all_prompts_compared(result)
