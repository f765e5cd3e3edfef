"""Audio sanity as tests: no NaN, not silent, no clipping (all enforced on every
trial of every suite), loudness and true peak within broadcast-sane bands, speaking
rate within a band for the prompt length, and repeatable output length where the
engine is deterministic. ``--tts-trials`` sets the trials (3 unless given)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench

LUFS_BAND = (-40.0, -8.0)  # integrated loudness of raw TTS output, before normalization
TRUE_PEAK_MAX_DBTP = 0.5  # above this the waveform clips after reconstruction
TRIALS = 3  # when --tts-trials is not given


@pytest.mark.tts_prompts("short", "medium")
def test_audio_quality(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    result = tts_bench(tts_prompt, trials=asked_trials or TRIALS)
    lufs = result.metric("lufs.p50")
    if lufs is not None:  # None: clip too short for BS.1770 gating
        assert LUFS_BAND[0] <= lufs <= LUFS_BAND[1], f"loudness {lufs:.1f} LUFS"
    peak = result.metric("true_peak_dbtp.max")
    assert peak is None or peak <= TRUE_PEAK_MAX_DBTP, f"true peak {peak:.2f} dBTP"
    rate = result.metric("chars_per_s.p50")
    assert rate is not None
    assert rate > 0


@pytest.mark.tts_prompts("short")
def test_repeatable_length(tts_bench: TTSBench, tts_prompt: str, asked_trials: int | None) -> None:
    if not tts_bench.handle.engine.capabilities.deterministic:
        pytest.skip(f"{tts_bench.handle.target.id}: samples at random; lengths may differ")
    trials = asked_trials or TRIALS
    if trials < 2:
        pytest.skip(f"--tts-trials={trials}: comparing output lengths needs at least 2 trials")
    result = tts_bench(tts_prompt, trials=trials, params={"check": "repeat"})
    lengths = result.series("audio_s")
    assert max(lengths) - min(lengths) <= 0.01 * max(lengths), f"audio lengths {lengths}"
