"""Unit tests for pytest_ttsbench.measure.audio with plain numpy signals."""

from __future__ import annotations

import math
import time
import wave
from typing import TYPE_CHECKING, Any

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from pytest_ttsbench.measure import audio
from pytest_ttsbench.measure.stamps import Chunked
from pytest_ttsbench.measure.trial import build_trial
from pytest_ttsbench.results import metrics as registry

if TYPE_CHECKING:
    from pathlib import Path

Audio = np.ndarray[Any, np.dtype[np.float32]]
METRIC_KEYS = {
    "lufs",
    "true_peak_dbtp",
    "peak_dbfs",
    "silence_ratio",
    "clipping_fraction",
    "chars_per_s",
}
TEXT_150 = "The quick brown fox jumps over the lazy dog near the river bank. " * 2 + "x" * 20


def sine(freq: float, seconds: float, sr: int, amplitude: float, phase: float = 0.0) -> Audio:
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def rms_sine(freq: float, seconds: float, sr: int, rms_dbfs: float) -> Audio:
    """A sine whose RMS level is rms_dbfs (peak 3.01 dB higher)."""
    return sine(freq, seconds, sr, math.sqrt(2) * 10 ** (rms_dbfs / 20))


def test_constants_are_documented_values() -> None:
    assert audio.SILENCE_FLOOR_DBFS == -50.0
    assert audio.DEFAULT_CHARS_PER_S == (5.0, 30.0)
    assert audio.frame_len(24000) == 240
    assert audio.frame_len(48000) == 480
    assert audio.frame_len(50) == 1
    assert len(TEXT_150) == 150


def test_clean_sine_is_valid_and_measured() -> None:
    sr = 48000
    x = rms_sine(997, 5.0, sr, -20.0)
    report = audio.check(x, sr)
    assert report.problems == []
    assert report.valid
    assert report.samples == x.size
    assert report.seconds == pytest.approx(5.0)
    assert not report.empty
    assert not report.has_nan_or_inf
    assert report.silence_ratio == 0.0
    assert report.clipping_fraction == 0.0
    assert report.peak_dbfs == pytest.approx(-16.99, abs=0.01)
    assert report.first_audible_s == 0.0
    assert report.chars_per_s is None  # no text given


def test_lufs_of_a_known_sine() -> None:
    # BS.1770: a 997 Hz sine reads -3.01 LKFS at 0 dBFS peak, i.e. LUFS == its RMS dBFS.
    sr = 48000
    x = rms_sine(997, 5.0, sr, -20.0)
    report = audio.check(x, sr)
    assert report.lufs is not None
    assert report.lufs == pytest.approx(-20.0, abs=0.5)
    direct = pyloudnorm.Meter(sr).integrated_loudness(x.astype(np.float64))
    assert report.lufs == pytest.approx(direct, abs=1e-9)
    louder = audio.check(rms_sine(997, 5.0, sr, -14.0), sr).lufs
    assert louder == pytest.approx(report.lufs + 6.0, abs=0.05)


def test_true_peak_exceeds_sample_peak_between_samples() -> None:
    # A full-scale sine at fs/4 sampled 45 degrees off its crests: every sample sits at
    # +-0.707 (-3.01 dBFS), while the waveform between them reaches 1.0 (0 dBTP).
    sr = 24000
    x = sine(sr / 4, 1.0, sr, 1.0, phase=math.pi / 4)
    report = audio.check(x, sr)
    assert report.peak_dbfs == pytest.approx(-3.01, abs=0.01)
    assert report.peak_dbfs is not None
    assert report.true_peak_dbtp is not None
    assert report.true_peak_dbtp > report.peak_dbfs + 2.9
    assert report.true_peak_dbtp == pytest.approx(0.0, abs=0.2)  # steady state + edge ringing
    assert report.clipping_fraction == 0.0  # no *sample* reaches full scale


def test_true_peak_of_a_low_tone_is_the_sample_peak() -> None:
    sr = 24000
    x = sine(100, 1.0, sr, 0.5)
    report = audio.check(x, sr)
    assert report.true_peak_dbtp == pytest.approx(report.peak_dbfs, abs=0.01)


@pytest.mark.parametrize("n", [1, 2, 5, 20, 21, 22, 81, 1000, 24000])
def test_true_peak_equals_resample_poly(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 0.3
    expected = float(np.max(np.abs(resample_poly(x, 4, 1))))
    assert audio.true_peak(x) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def speechlike(rng: np.random.Generator, n: int, kind: int) -> np.ndarray[Any, Any]:
    if kind == 0:  # noise under a syllable-rate log-normal envelope
        env = np.exp(rng.standard_normal(n // 200 + 1) * 1.5)
        return np.asarray(rng.standard_normal(n) * np.repeat(env, 200)[:n] * 0.05)
    if kind == 1:  # sparse clicks
        x = np.zeros(n)
        idx = rng.integers(0, n, size=max(1, n // 500))
        x[idx] = rng.uniform(-1, 1, idx.size)
        return x
    if kind == 2:  # heavy-tailed
        return np.asarray(rng.standard_normal(n) ** 5 * 0.01)
    x = rng.standard_normal(n) * 0.1  # one loud sample in noise
    x[rng.integers(0, n)] = -0.9
    return x


@pytest.mark.parametrize("seed", range(40))
def test_true_peak_skipping_quiet_windows_is_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30000))
    x = speechlike(rng, n, seed % 4)
    expected = float(np.max(np.abs(resample_poly(x, 4, 1))))
    assert audio.true_peak(x) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_true_peak_of_speechlike_audio_skips_the_full_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = speechlike(np.random.default_rng(7), 240000, 0)
    expected = float(np.max(np.abs(resample_poly(x, 4, 1))))

    def full(x: object) -> float:
        raise AssertionError("took the full polyphase path")

    monkeypatch.setattr(audio, "_true_peak_all", full)
    assert audio.true_peak(x) == pytest.approx(expected, rel=1e-12)


def test_digital_silence_is_invalid_and_has_no_fake_levels() -> None:
    sr = 24000
    report = audio.check(np.zeros(sr, dtype=np.float32), sr, "Hello there.")
    assert report.silence_ratio == 1.0
    assert report.peak_dbfs is None
    assert report.true_peak_dbtp is None
    assert report.lufs is None
    assert report.first_audible_s is None
    assert any("all silence" in p for p in report.problems)
    assert any("-70 LUFS" in n for n in report.notes)


def test_quiet_noise_is_silence_and_below_the_loudness_gate() -> None:
    sr = 24000
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(sr) * 10 ** (-80 / 20)).astype(np.float32)  # -80 dBFS RMS
    report = audio.check(x, sr)
    assert report.silence_ratio == 1.0
    assert report.lufs is None
    assert report.peak_dbfs is not None  # not digital silence: it has a peak
    assert not report.valid


def test_nearly_all_silence_is_a_problem_but_pauses_are_not() -> None:
    sr = 24000
    speech = rms_sine(220, 0.01, sr, -20.0)  # one frame
    mostly_silent = np.concatenate([speech, np.zeros(sr * 2, dtype=np.float32)])
    report = audio.check(mostly_silent, sr)
    assert report.silence_ratio is not None
    assert report.silence_ratio > audio.MAX_SILENCE_RATIO
    assert any("nearly all silence" in p for p in report.problems)

    with_pauses = np.concatenate([np.zeros(sr // 2, np.float32), rms_sine(220, 1.0, sr, -20.0)])
    ok = audio.check(with_pauses, sr)
    assert ok.silence_ratio == pytest.approx(1 / 3, abs=0.01)
    assert ok.problems == []
    assert ok.first_audible_s == pytest.approx(0.5)


def test_silence_floor_boundary() -> None:
    sr = 24000
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(sr)
    below = (noise / np.sqrt(np.mean(noise**2)) * 10 ** (-56 / 20)).astype(np.float32)
    above = (noise / np.sqrt(np.mean(noise**2)) * 10 ** (-44 / 20)).astype(np.float32)
    assert not audio.is_audible(below, sr)
    assert audio.first_audible_sample(below, sr) is None
    assert audio.is_audible(above, sr)
    assert audio.first_audible_sample(above, sr) == 0


def test_first_audible_sample_is_frame_aligned() -> None:
    sr = 24000
    onset = 7300  # inside the frame that starts at 7200
    x = np.concatenate([np.zeros(onset, np.float32), rms_sine(300, 0.5, sr, -20.0)])
    assert audio.first_audible_sample(x, sr) == 7200
    assert audio.first_audible_sample(x[:7200], sr) is None


def chunks() -> list[Audio]:
    sr = 24000
    loud = rms_sine(300, 0.2, sr, -20.0)
    return [
        np.zeros(0, np.float32),
        np.zeros(4800, np.float32),
        loud,
        loud[:50],  # shorter than one frame
        np.concatenate([np.zeros(2400, np.float32), loud]),
        np.full(480, np.nan, np.float32),
        np.concatenate([np.full(240, np.inf, np.float32), np.zeros(240, np.float32)]),
        (loud * 1e-4).astype(np.float32),
    ]


@pytest.mark.parametrize("index", range(len(chunks())))
def test_is_audible_agrees_with_first_audible_sample(index: int) -> None:
    chunk = chunks()[index]
    assert audio.is_audible(chunk, 24000) == (audio.first_audible_sample(chunk, 24000) is not None)


def test_is_audible_on_short_and_non_finite_chunks() -> None:
    sr = 24000
    loud = rms_sine(300, 0.2, sr, -20.0)
    assert audio.is_audible(loud[:50], sr)
    assert not audio.is_audible(np.zeros(0, np.float32), sr)
    assert not audio.is_audible(np.full(480, np.nan, np.float32), sr)  # NaN counts as 0


def test_nan_and_inf_do_not_crash_and_are_problems() -> None:
    sr = 24000
    x = rms_sine(997, 2.0, sr, -20.0)
    x[1000] = np.nan
    x[2000] = np.inf
    x[3000] = -np.inf
    report = audio.check(x, sr, TEXT_150[:30])
    assert report.has_nan_or_inf
    assert report.nonfinite_samples == 3
    assert any("NaN or Inf" in p for p in report.problems)
    # The finite part is still measured.
    assert report.lufs == pytest.approx(-20.0, abs=0.5)
    assert report.peak_dbfs == pytest.approx(-16.99, abs=0.05)
    for key, value in report.as_metrics().items():
        assert value is None or math.isfinite(value), key


def test_all_nan_does_not_crash() -> None:
    sr = 24000
    report = audio.check(np.full(sr, np.nan, np.float32), sr, "Hello world, how are you?")
    assert report.has_nan_or_inf
    assert report.silence_ratio == 1.0
    assert report.lufs is None
    assert len(report.problems) >= 2  # NaN, and nothing audible


def test_empty_audio() -> None:
    report = audio.check(np.zeros(0, np.float32), 24000, "Hello.")
    assert report.empty
    assert report.samples == 0
    assert report.seconds == 0.0
    assert any("empty" in p for p in report.problems)
    assert report.as_metrics() == dict.fromkeys(METRIC_KEYS)


def test_clipping_over_the_threshold_is_a_problem() -> None:
    sr = 24000
    x = np.clip(sine(220, 1.0, sr, 1.5), -1.0, 1.0).astype(np.float32)
    report = audio.check(x, sr)
    assert report.clipping_fraction is not None
    assert report.clipping_fraction > 0.3
    assert any("clipping" in p for p in report.problems)


def test_an_isolated_full_scale_sample_is_not_a_problem() -> None:
    sr = 24000
    x = rms_sine(220, 2.0, sr, -20.0)
    x[100] = 1.0
    report = audio.check(x, sr)
    assert report.clipping_fraction == pytest.approx(1 / x.size)
    assert report.problems == []
    assert report.peak_dbfs == pytest.approx(0.0)


def test_speaking_rate_in_band() -> None:
    sr = 16000
    report = audio.check(rms_sine(200, 10.0, sr, -20.0), sr, TEXT_150)
    assert report.text_chars == 150
    assert report.chars_per_s == pytest.approx(15.0)
    assert report.problems == []


def test_speaking_rate_too_fast_means_truncation() -> None:
    sr = 16000
    report = audio.check(rms_sine(200, 2.0, sr, -20.0), sr, TEXT_150)
    assert report.chars_per_s == pytest.approx(75.0)
    assert any("too fast" in p for p in report.problems)


def test_speaking_rate_too_slow_means_runaway() -> None:
    sr = 16000
    report = audio.check(rms_sine(200, 60.0, sr, -20.0), sr, TEXT_150)
    assert report.chars_per_s == pytest.approx(2.5)
    assert any("too slow" in p for p in report.problems)


def test_short_text_only_checks_the_upper_bound() -> None:
    sr = 16000
    padded = audio.check(rms_sine(200, 4.0, sr, -20.0), sr, "Hi there.")
    assert padded.chars_per_s == pytest.approx(9 / 4.0)
    assert padded.problems == []
    assert any("lower bound not checked" in n for n in padded.notes)
    truncated = audio.check(rms_sine(200, 0.1, sr, -20.0), sr, "Hi there.")
    assert any("too fast" in p for p in truncated.problems)


JA = "お電話ありがとうございます。ご注文の品は今朝発送いたしました。木曜日に届く予定です。"
ZH = "感谢您的来电。您的订单今天早上已经发货，预计星期四送达。"


def test_custom_band() -> None:
    sr = 16000
    x = rms_sine(200, 10.0, sr, -20.0)
    assert audio.check(x, sr, TEXT_150, expected_chars_per_s=(20.0, 40.0)).problems


def test_speaking_rate_band_follows_the_script() -> None:
    band = audio.chars_per_s_band
    assert band(TEXT_150) == audio.DEFAULT_CHARS_PER_S
    assert band("Привет, как дела?") == audio.DEFAULT_CHARS_PER_S  # Cyrillic: alphabetic
    assert band("") == audio.DEFAULT_CHARS_PER_S
    # every character dense, their punctuation (。 and the full-width ，) included
    assert audio.dense_chars(JA) == len(JA)
    assert band(JA) == pytest.approx(audio.DENSE_SCRIPT_CHARS_PER_S)
    assert band(ZH) == pytest.approx(audio.DENSE_SCRIPT_CHARS_PER_S)
    # a mixed text: each bound is the characters over their summed time
    mixed = "Order 注文 shipped"  # 2 dense of 16
    low, high = band(mixed)
    assert low == pytest.approx(16 / (14 / 5.0 + 2 / 1.5))
    assert high == pytest.approx(16 / (14 / 30.0 + 2 / 15.0))
    assert audio.DENSE_SCRIPT_CHARS_PER_S[1] < high < audio.DEFAULT_CHARS_PER_S[1]


def test_speaking_rate_band_scales_with_the_speed() -> None:
    assert audio.chars_per_s_band(TEXT_150, 0.5) == (2.5, 15.0)
    assert audio.chars_per_s_band(JA, 2.0) == pytest.approx((3.0, 30.0))
    for speed in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="speed"):
            audio.chars_per_s_band(TEXT_150, speed)


def _trial(seconds: float, text: str, speed: float = 1.0) -> list[str]:
    """The problems build_trial finds in ``seconds`` of speech-level audio for ``text``."""
    sr = 16000
    captured = Chunked(t0_ns=0, chunk_ns=[1_000_000], chunks=[rms_sine(200, seconds, sr, -20.0)])
    trial, _ = build_trial(
        captured, index=0, kind="measured", sample_rate=sr, text=text, speed=speed
    )
    return trial.problems


def test_a_slow_prompt_is_not_runaway_nor_a_fast_one_truncated() -> None:
    # an engine that speaks 8 characters a second, asked for half and for double speed
    assert _trial(150 / 4.0, TEXT_150, speed=0.5) == []  # 4 chars/s: "too slow" at 1.0
    assert _trial(150 / 32.0, TEXT_150, speed=2.0) == []  # 32 chars/s: "truncated" at 1.0
    assert any("too slow" in p for p in _trial(150 / 4.0, TEXT_150))


def test_a_dense_script_prompt_has_its_own_band() -> None:
    # Japanese at 4 characters a second is ordinary speech, not runaway generation
    assert _trial(len(JA) / 4.0, JA) == []
    assert _trial(len(ZH) / 3.5, ZH) == []
    # ... and 25 of them a second is truncation, which the Latin band let through
    (problem,) = _trial(len(JA) / 25.0, JA)
    assert "too fast" in problem
    assert "truncated audio?" in problem


def test_a_truncated_latin_clip_is_still_flagged() -> None:
    for speed in (1.0, 0.5):
        (problem,) = _trial(2.0, TEXT_150, speed=speed)  # 75 chars/s
        assert "speaking rate too fast" in problem
        assert "truncated audio?" in problem


def test_text_chars_collapses_whitespace() -> None:
    assert audio.text_chars("  Hello,\n\n  world!  ") == len("Hello, world!")
    report = audio.check(rms_sine(200, 1.0, 16000, -20.0), 16000, "   ")
    assert report.chars_per_s is None
    assert report.problems == []


def test_clip_shorter_than_a_loudness_block() -> None:
    sr = 24000
    report = audio.check(rms_sine(440, 0.3, sr, -20.0), sr)
    assert report.lufs is None
    assert any("400 ms" in n for n in report.notes)
    assert report.true_peak_dbtp is not None
    assert report.problems == []


def test_as_metrics_keys_are_results_series() -> None:
    report = audio.check(rms_sine(440, 1.0, 24000, -20.0), 24000, "Hello there, how are you?")
    metrics = report.as_metrics()
    assert set(metrics) == METRIC_KEYS
    assert set(metrics) <= set(registry.names("series"))
    assert all(isinstance(v, float) for v in metrics.values())


def test_input_shapes_and_rates() -> None:
    x = rms_sine(440, 1.0, 24000, -20.0)
    column = audio.check(x.reshape(-1, 1), 24000)
    assert column.samples == x.size
    with pytest.raises(ValueError, match="mono"):
        audio.check(np.zeros((100, 2), np.float32), 24000)
    with pytest.raises(ValueError, match="sample rate"):
        audio.check(x, 0)
    with pytest.raises(ValueError, match="sample rate"):
        audio.is_audible(x, -1)


def test_ten_seconds_check_fast() -> None:
    # Measured ~15-25 ms on a noisy 2-core VM; the bound only catches gross regressions.
    sr = 24000
    x = rms_sine(220, 10.0, sr, -20.0)
    audio.check(x, sr, TEXT_150)
    best = math.inf
    for _ in range(3):
        # CPU time of this thread, not wall time: other processes on a busy machine
        # do not count against the check
        start = time.thread_time()
        audio.check(x, sr, TEXT_150)
        best = min(best, time.thread_time() - start)
    assert best < 0.25


def test_write_wav_roundtrip(tmp_path: Path) -> None:
    sr = 22050
    x = rms_sine(440, 0.5, sr, -10.0)
    x[0], x[1], x[2], x[3] = 1.5, -2.0, np.nan, np.inf
    out = audio.write_wav(tmp_path / "sub" / "trial.wav", x, sr)
    assert out == tmp_path / "sub" / "trial.wav"
    with wave.open(str(out), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == sr
        assert wav.getnframes() == x.size
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert pcm[:4].tolist() == [32767, -32767, 0, 32767]
    expected = np.rint(x[4:].astype(np.float64) * 32767)
    assert np.max(np.abs(pcm[4:] - expected)) <= 1
    assert [p.name for p in out.parent.iterdir()] == ["trial.wav"]  # no temp file left


def test_write_wav_replaces_and_cleans_up_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.wav"
    audio.write_wav(target, np.zeros(10, np.float32), 16000)
    audio.write_wav(target, np.zeros(20, np.float32), 16000)
    with wave.open(str(target), "rb") as wav:
        assert wav.getnframes() == 20

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(wave, "open", boom)
    with pytest.raises(OSError, match="disk full"):
        audio.write_wav(target, np.zeros(30, np.float32), 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]
    monkeypatch.undo()
    with wave.open(str(target), "rb") as wav:
        assert wav.getnframes() == 20  # the old file survived


def test_a_length_cap_lifts_only_the_too_fast_bound() -> None:
    """A capped call stops where the cap says: 60 characters in 1 s is not truncation
    then; 300 characters stretched over 60 s is still runaway generation."""
    sr = 24000
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    text = "x" * 60
    assert any("too fast" in p for p in audio.check(tone, sr, text).problems)
    capped = audio.check(tone, sr, text, capped=True)
    assert capped.problems == []
    assert any("upper bound not checked" in n for n in capped.notes)
    long_tone = np.tile(tone, 60)
    slow = audio.check(long_tone, sr, "x" * 100, capped=True)
    assert any("too slow" in p for p in slow.problems)
