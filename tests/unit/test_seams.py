"""measure/seams.py: audible discontinuities at chunk boundaries, on plain data; the
trial metric ``seams`` through build_trial and the registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.signal import lfilter

from pytest_ttsbench.gates.bounds import parse_bound
from pytest_ttsbench.measure import audio, seams
from pytest_ttsbench.measure.stamps import Chunked
from pytest_ttsbench.measure.trial import build_trial
from pytest_ttsbench.results import metrics

SR = 24000
F = 220.0  # Hz: 109.09 samples per period at 24 kHz
Audio = np.ndarray[Any, np.dtype[np.float64]]


def sine(n: int, start: int = 0, amp: float = 0.3, freq: float = F, sr: int = SR) -> Audio:
    t = np.arange(start, start + n) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def split(x: Audio, sizes: list[int]) -> list[Audio]:
    ends = np.cumsum(sizes)
    assert ends[-1] == x.size
    return [x[e - n : e] for e, n in zip(ends, sizes, strict=True)]


def count(chunks: list[Audio], sr: int = SR) -> int:
    return seams.count_seams(np.concatenate(chunks), [c.size for c in chunks], sr)


def speech_like(seconds: float = 1.5, seed: int = 0) -> Audio:
    """Voiced speech as a source-filter model: a glottal impulse train (F0 gliding 90 to
    230 Hz) through three formant resonators, breath noise, syllable envelope, a pause."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    f0 = 90.0 + 140.0 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * np.arange(n) / SR))
    phase = np.cumsum(f0 / SR)
    source = np.diff(np.floor(phase), prepend=0.0)  # one impulse per period
    source += 0.02 * rng.standard_normal(n)
    y = source
    for freq, bandwidth in ((700.0, 80.0), (1200.0, 90.0), (2600.0, 120.0)):
        r = np.exp(-np.pi * bandwidth / SR)
        a = [1.0, -2 * r * np.cos(2 * np.pi * freq / SR), r * r]
        y = lfilter([1.0 - r], a, y)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * np.arange(n) / SR)
    fade = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, SR // 50))  # 20 ms
    pause = np.concatenate([fade, np.zeros(SR // 10), fade[::-1]])  # a 100 ms pause
    envelope[n // 2 : n // 2 + pause.size] *= pause
    y = y * envelope
    return np.asarray(0.5 * y / np.max(np.abs(y)))


# ---- continuous audio split anywhere: no seam ------------------------------------------
@pytest.mark.parametrize("freq", [50.0, 220.0, 1000.0, 3000.0, 7000.0])
def test_a_continuous_sine_split_anywhere_has_no_seam(freq: float) -> None:
    x = sine(SR, amp=0.9, freq=freq)
    for step in (4, 7, 37, 100, 241, 2400):
        sizes = [step] * (x.size // step)
        sizes.append(x.size - sum(sizes))
        assert seams.count_seams(x, sizes, SR) == 0, (freq, step)
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 300, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [x.size]])).tolist()
    assert seams.count_seams(x.astype(np.float32), sizes, SR) == 0


@pytest.mark.parametrize("sr", [16000, 22050, 44100])
def test_a_continuous_sine_at_other_rates_has_no_seam(sr: int) -> None:
    x = sine(sr, sr=sr)
    assert seams.count_seams(x, [333] * (sr // 333) + [sr % 333], sr) == 0


def test_continuous_speech_like_audio_split_anywhere_has_no_seam() -> None:
    # glottal impulses are bursts of their own: the local maximum, not a median, keeps
    # a cut next to one from counting
    for seed in (0, 1):
        x = speech_like(seed=seed)
        for step in (13, 37, 240, 1001):
            sizes = [step] * (x.size // step)
            sizes.append(x.size - sum(sizes))
            assert seams.count_seams(x, sizes, SR) == 0, (seed, step)


# ---- what is a seam ---------------------------------------------------------------------
def test_a_phase_reset_at_each_boundary_is_one_seam_each() -> None:
    # each chunk restarts the sine at phase 0, as sentence-by-sentence synthesis does;
    # 1000 samples end 60 degrees into a period: a jump of 0.26 at every boundary
    chunks = [sine(1000) for _ in range(6)]
    assert count(chunks) == 5
    ends = np.cumsum([1000] * 6)[:-1].tolist()
    assert seams.find_seams(np.concatenate(chunks), [1000] * 6, SR) == ends


def test_a_dc_step_is_a_seam() -> None:
    x = sine(6000)
    chunks = [c + 0.02 * k for k, c in enumerate(split(x, [1500] * 4))]
    assert count(chunks) == 3


def test_a_zero_filled_gap_is_a_seam_on_each_side() -> None:
    x = sine(3000)
    gap = np.zeros(240)
    a, b = x[:1000], x[1000:]  # 1000 and 3000 samples are far from a zero crossing
    assert count([a, gap, b]) == 2
    assert count([a, np.concatenate([gap, b])]) == 1  # zeros at the start of a chunk
    assert count([np.concatenate([a, gap]), b]) == 1  # zeros at the end of one


def test_a_dropped_or_repeated_stretch_is_a_seam() -> None:
    x = sine(4000)
    dropped = [x[:1000], x[1030:2000], x[2000:]]  # 30 samples (99 degrees) lost, then clean
    assert count(dropped) == 1
    repeated = [x[:1000], x[970:2000], x[2000:]]  # 30 samples said twice, then clean
    assert count(repeated) == 1


def test_only_the_defective_boundaries_are_found() -> None:
    x = speech_like()
    cuts = [3000, 6000, 9000, 12000, 21000, 27000, 30000]
    pieces = split(x, np.diff([0, *cuts, x.size]).tolist())
    pieces[2] = pieces[2] + 0.2  # a DC step in at 6000 and out at 9000
    pieces[5] = pieces[5][::-1]  # 21000..27000 reversed: the waveform jumps at both ends
    found = seams.find_seams(np.concatenate(pieces), [p.size for p in pieces], SR)
    assert found == [6000, 9000, 21000, 27000]


# ---- what never counts ----------------------------------------------------------------
def test_boundaries_in_silence_never_count() -> None:
    rng = np.random.default_rng(2)
    assert count([np.zeros(500)] * 4) == 0  # digital silence
    noise = 10 ** (-70 / 20) * rng.standard_normal(4000)  # a vocoder's noise floor
    assert count([noise[:1000], noise[1000:2000] + 0.001, noise[2000:]]) == 0
    quiet = [sine(1000, amp=0.001) for _ in range(4)]  # -60 dBFS phase resets
    assert count(quiet) == 0
    assert count([sine(1000, amp=0.3) for _ in range(4)]) == 3  # the same, audible


def test_the_floor_is_the_silence_floor() -> None:
    assert seams.FLOOR_DBFS == audio.SILENCE_FLOOR_DBFS
    # a step from digital silence: just under the floor never counts, just over it does
    floor = 10 ** (seams.FLOOR_DBFS / 20)
    assert count([np.zeros(500), np.full(500, 0.99 * floor)]) == 0
    assert count([np.zeros(500), np.full(500, 1.01 * floor)]) == 1


def test_one_chunk_has_no_boundary() -> None:
    x = sine(3000)
    x[1500:] += 0.5  # a step inside a chunk is not a chunk boundary
    assert seams.count_seams(x, [x.size], SR) == 0
    assert seams.boundaries([x.size]) == []
    assert seams.count_seams(np.zeros(0), [], SR) == 0
    assert seams.count_seams(np.zeros(0), [0, 0], SR) == 0


def test_chunks_too_short_to_judge_count_nothing() -> None:
    # under 4 samples a chunk leaves no stencil clear of a boundary to compare with
    chunks = [sine(3, amp=0.9, freq=3000.0) for _ in range(200)]  # phase resets
    assert count(chunks) == 0
    assert count([sine(4, amp=0.9, freq=3000.0) for _ in range(200)]) > 0


def test_empty_chunks_are_skipped() -> None:
    chunks = [sine(1000) for _ in range(3)]
    whole = np.concatenate(chunks)
    assert seams.boundaries([0, 1000, 0, 0, 1000, 1000, 0]) == [1000, 2000]
    assert seams.count_seams(whole, [0, 1000, 0, 0, 1000, 1000, 0], SR) == 2
    assert seams.count_seams(whole, [0, 3000, 0], SR) == 0  # one non-empty chunk


# ---- input handling, as measure/audio.py -------------------------------------------------
def test_mono_shapes_are_squeezed_and_stereo_is_refused() -> None:
    whole = np.concatenate([sine(1000) for _ in range(3)])
    sizes = [1000] * 3
    assert seams.count_seams(whole[:, None], sizes, SR) == 2
    assert seams.count_seams(whole[None, :], sizes, SR) == 2
    assert seams.count_seams(whole.tolist(), sizes, SR) == 2
    with pytest.raises(ValueError, match="expected mono"):
        seams.count_seams(np.stack([whole, whole], axis=1), sizes, SR)


def test_non_finite_samples_count_as_zero() -> None:
    x = sine(4000)
    bad = x.copy()
    bad[1000:2000] = np.nan  # a whole chunk of NaN: a zero-filled chunk
    bad[3500] = np.inf  # inside a chunk: no boundary
    sizes = [1000, 1000, 2000]
    zeroed = np.where(np.isfinite(bad), bad, 0.0)
    assert seams.count_seams(bad, sizes, SR) == seams.count_seams(zeroed, sizes, SR) == 2


def test_bad_arguments_are_refused() -> None:
    x = sine(1000)
    with pytest.raises(ValueError, match="chunks hold 900 samples, the audio 1000"):
        seams.count_seams(x, [400, 500], SR)
    with pytest.raises(ValueError, match=">= 0"):
        seams.count_seams(x, [1100, -100], SR)
    with pytest.raises(ValueError, match="sample rate"):
        seams.count_seams(x, [500, 500], 0)


# ---- the trial metric ------------------------------------------------------------------
def trial_seams(chunks: list[Audio]) -> float | None:
    captured = Chunked(
        t0_ns=0,
        chunk_ns=[1_000_000 * (k + 1) for k in range(len(chunks))],
        chunks=[np.asarray(c, dtype=np.float32) for c in chunks],
    )
    trial, _ = build_trial(captured, index=0, kind="measured", sample_rate=SR, text=None)
    return trial.metrics["seams"]


def test_every_trial_with_audio_carries_seams() -> None:
    x = sine(6000)
    assert trial_seams(split(x, [1500] * 4)) == 0.0  # continuous, streamed
    assert trial_seams([x]) == 0.0  # one chunk
    assert trial_seams([sine(1500) for _ in range(4)]) == 3.0  # phase resets
    assert trial_seams([]) is None  # no audio: not measured


def test_seams_is_a_registered_gateable_streaming_series() -> None:
    metric = metrics.BY_NAME["seams"]
    assert (metric.kind, metric.better, metric.unit) == ("series", "lower", "")
    assert [(c.id, c.stat, c.fmt, c.sections) for c in metric.columns] == [
        ("seams_max", "max", "0", ("streaming",))
    ]
    assert "seams.max" in metrics.flat_names("junit")
    assert "seams.max" in metrics.flat_names("extra_info")
    bound = parse_bound("seams.max == 0", "here")
    assert (bound.metric, bound.statistic, bound.op, bound.value) == ("seams", "max", "==", 0)
    assert parse_bound("seams == 0", "here").name == "seams.max"
