"""Spectral distances between two renderings (log-mel L1, MCD with its DTW penalty) and
the paired comparison of two configurations. Synthetic signals only."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pytest_ttsbench.measure import spectral
from pytest_ttsbench.measure.paired import duration_ratio, paired_difference

RATE = 16000


def voiced(seconds: float, f0: float = 140.0, rate: int = RATE, seed: int = 0) -> Any:
    """A speech-like test signal: a gliding harmonic series under a moving formant, with
    a little breath noise; ``seconds`` sets its tempo (the same glide, faster or slower)."""
    t = np.arange(int(seconds * rate)) / rate
    progress = t / seconds  # 0 -> 1 whatever the duration: a time-stretched copy
    pitch = f0 * (1.0 + 0.3 * progress)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    formant = 500.0 + 1500.0 * progress
    out = np.zeros_like(t)
    for k in range(1, 30):
        weight = np.exp(-(((k * pitch) - formant) ** 2) / (2 * 300.0**2))
        out += weight * np.sin(k * phase)
    out += 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def test_identical_audio_is_zero_on_every_distance() -> None:
    clip = voiced(1.5)
    l1 = spectral.log_mel_l1(clip, clip.copy(), RATE)
    assert l1.distance == 0.0
    assert l1.frames_compared == l1.frames_a == l1.frames_b
    assert l1.length_ratio == 1.0
    result = spectral.mcd(clip, clip.copy(), RATE)
    assert result.mcd_db == 0.0
    assert result.dtw_penalty == 0.0
    assert result.frames_a == result.frames_b == result.path_length
    assert result.decimation == 1


def test_identical_audio_with_digital_silence_is_still_zero() -> None:
    clip = np.concatenate([np.zeros(RATE // 2, np.float32), voiced(1.0), np.zeros(RATE // 2)])
    result = spectral.mcd(clip, clip, RATE)
    assert (result.mcd_db, result.dtw_penalty) == (0.0, 0.0)


def test_a_changed_voice_or_added_noise_is_a_distance() -> None:
    clip = voiced(1.5)
    other_voice = voiced(1.5, f0=220.0)
    noisy = clip + 0.02 * np.random.default_rng(1).standard_normal(len(clip)).astype(np.float32)
    for changed in (other_voice, noisy):
        assert spectral.log_mel_l1(clip, changed, RATE).distance > 0.1
        result = spectral.mcd(clip, changed, RATE)
        assert result.mcd_db > 0.5


def test_a_tempo_change_shows_in_the_dtw_penalty() -> None:
    clip = voiced(1.5)
    faster = voiced(1.0)  # the same glide at 1.5x tempo
    same = spectral.mcd(clip, clip, RATE)
    stretched = spectral.mcd(clip, faster, RATE)
    assert stretched.frames_a == pytest.approx(1.5 * stretched.frames_b, rel=0.02)
    # at least 1 - 1/1.5 = 1/3: the path is at least as long as the longer side
    assert stretched.dtw_penalty >= 0.3
    assert stretched.dtw_penalty > same.dtw_penalty + 0.3
    l1 = spectral.log_mel_l1(clip, faster, RATE)
    assert l1.frames_compared == stretched.frames_b
    assert l1.length_ratio == pytest.approx(1 / 1.5, rel=0.01)


def naive_dtw(x: Any, y: Any) -> float:
    n, m = len(x), len(y)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = float(np.linalg.norm(x[i - 1] - y[j - 1]))
            acc[i, j] = cost + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return float(acc[n, m])


@pytest.mark.parametrize(
    ("n", "m", "seed"), [(1, 1, 0), (1, 7, 1), (6, 1, 2), (9, 13, 3), (20, 11, 4), (15, 15, 5)]
)
def test_dtw_path_is_the_minimum_cost_alignment(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
    rows, cols = spectral.dtw_path(x, y)
    assert (rows[0], cols[0]) == (0, 0)
    assert (rows[-1], cols[-1]) == (n - 1, m - 1)
    steps = set(zip(np.diff(rows).tolist(), np.diff(cols).tolist(), strict=True))
    assert steps <= {(1, 1), (1, 0), (0, 1)}
    path_cost = float(np.sum(np.linalg.norm(x[rows] - y[cols], axis=1)))
    assert path_cost == pytest.approx(naive_dtw(x, y))


def test_long_clips_are_decimated_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spectral, "MAX_DTW_FRAMES", 50)
    clip = voiced(1.5)
    result = spectral.mcd(clip, voiced(1.5, f0=200.0), RATE)
    assert result.decimation == math.ceil(result.frames_a / 50)
    assert result.path_length <= result.frames_a // result.decimation * 2


def test_log_mel_shape_and_short_clips() -> None:
    mel = spectral.log_mel(voiced(1.0), RATE)
    assert mel.shape == (1 + (RATE - 400) // 160, spectral.N_MELS)
    assert spectral.log_mel(np.zeros(10, np.float32), RATE).shape == (1, spectral.N_MELS)
    assert np.all(spectral.log_mel(np.zeros(RATE, np.float32), RATE) == math.log(1e-10))
    bank = spectral.mel_filterbank(24000, 1024)
    assert bank.shape == (spectral.N_MELS, 513)
    assert np.all(bank.max(axis=1) > 0.3)  # no empty filter at 24 kHz
    with pytest.raises(ValueError, match="mono"):
        spectral.log_mel(np.zeros((100, 2)), RATE)


# --- paired comparisons -----------------------------------------------------------------


def test_paired_difference_t_interval_on_known_data() -> None:
    diff = paired_difference([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 3.0, 5.0])
    # differences 1, 2, 0, 1: mean 1, sd sqrt(2/3), t(0.975, 3) = 3.182446
    half = 3.182446305284263 * math.sqrt(2 / 3) / 2
    assert diff.n == 4
    assert diff.mean_diff == pytest.approx(1.0)
    assert diff.ci_low == pytest.approx(1.0 - half)
    assert diff.ci_high == pytest.approx(1.0 + half)
    assert diff.mean_a == pytest.approx(2.5)
    assert diff.mean_b == pytest.approx(3.5)
    assert diff.relative() == pytest.approx(0.4)


def test_paired_difference_edges() -> None:
    one = paired_difference([0.1], [0.3])
    assert one.mean_diff == pytest.approx(0.2)
    assert (one.ci_low, one.ci_high, one.n) == (None, None, 1)
    same = paired_difference([0.0, 0.1, 0.2], [0.01, 0.11, 0.21])
    assert same.ci_low == pytest.approx(0.01)
    assert same.ci_high == pytest.approx(0.01)
    assert paired_difference([0.0, 0.0], [0.0, 0.0]).relative() is None
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        paired_difference([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, math.nan], [1.0, 2.0])


def test_duration_ratio() -> None:
    ratio = duration_ratio([1.0, 2.0, 4.0], [1.1, 2.2, 4.4])
    assert ratio.ratio == pytest.approx(1.1)
    assert ratio.ci_low == pytest.approx(1.1)
    assert ratio.ci_high == pytest.approx(1.1)
    spread = duration_ratio([1.0, 1.0, 1.0, 1.0], [0.9, 1.0, 1.1, 1.2])
    assert spread.ci_low is not None
    assert spread.ci_high is not None
    assert spread.ci_low < spread.ratio < spread.ci_high
    assert duration_ratio([2.0], [1.0]).ci_low is None
    with pytest.raises(ValueError, match="positive"):
        duration_ratio([0.0], [1.0])
