"""Spectral distance between two renderings of one prompt. Pure: numpy and scipy only.

For a deterministic pair of configurations (int8 vs fp32, a knob against its default)
these say how far the audio moved; identical audio gives 0.0 for every distance.

Definitions (docs/METRICS.md repeats them; no other module may differ):

- Frames: 25 ms (periodic) Hann windows every 10 ms (``round(0.025 sr)`` / ``round(0.010 sr)``
  samples), starting at sample 0, no centering; the last frame ends inside the clip (a clip
  shorter than one window is zero-padded to one frame). FFT size: the next power of two.
- ``log_mel``: natural log of the power spectrum (``|rfft|`` divided by the window's sum,
  squared: a full-scale sine centred on a bin reads 0.25 there) through ``n_mels`` (80)
  triangular mel filters (HTK mel scale, 0 Hz to Nyquist, unit peak), floored at 1e-10
  (-100 dB, so digital near-silence does not dominate). Shape (frames, n_mels).
- ``log_mel_l1``: mean absolute difference of two log-mel spectrograms, frame by frame
  from the start, over the shorter one's frames; ``frames_compared`` says how many and
  ``length_ratio`` (samples b / samples a) how much the lengths differ. No alignment: a
  tempo change shows up as a large distance.
- ``mcd``: mel-cepstral distortion in dB. Cepstra: ``c_d = 1/N sum_k ln A_k cos(pi d
  (k + 1/2) / N)`` over the N log-mel *amplitudes* (half the log power), so that
  ``ln A_k = c_0 + 2 sum_d c_d cos(...)`` as in the mel-cepstrum the formula was made for;
  coefficients 1..12 (c0, the level, is left out). Frames are aligned by DTW
  (Euclidean cost, steps (1,1), (1,0), (0,1), unweighted); MCD is the mean over the
  aligned pairs of ``10 / ln 10 * sqrt(2 * sum_d (c_d - c'_d)^2)``.
- ``dtw_penalty``: how much the alignment had to stretch: ``2 - (frames_a + frames_b) /
  path_length``, the definition of the mel-cepstral-distance package. 0 for a purely
  diagonal path of equal lengths (identical audio), ``1 - 1/r`` or more for a tempo change
  of ratio r (1.5x: >= 0.33), approaching 1 as the path degenerates. DTW hides a tempo
  change from ``mcd_db``; the penalty shows it.
- Above :data:`MAX_DTW_FRAMES` frames a side, both sides are decimated by the same
  integer factor (every k-th frame) before DTW; ``decimation`` reports k (1: none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.fft import dct

WINDOW_S = 0.025
HOP_S = 0.010
N_MELS = 80
LOG_FLOOR = 1e-10
MCD_COEFFS = (1, 13)  # cepstral coefficients 1..12
MAX_DTW_FRAMES = 3000  # 30 s of frames; beyond it DTW decimates
_MCD_SCALE = 10.0 / math.log(10.0) * math.sqrt(2.0)

Array = np.ndarray[Any, Any]


def _hz_to_mel(hz: Array | float) -> Any:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: Array | float) -> Any:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = N_MELS) -> Array:
    """(n_mels, n_fft // 2 + 1) triangular filters, HTK mel scale, 0 Hz to Nyquist."""
    bins = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (center - lower)
    falling = (upper - bins[None, :]) / (upper - center)
    return np.asarray(np.maximum(0.0, np.minimum(rising, falling)), dtype=np.float64)


def _mono(audio: Array) -> Array:
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim != 1:
        samples = np.squeeze(samples)
        if samples.ndim != 1:
            raise ValueError(f"audio must be mono (1-D), got shape {np.shape(audio)}")
    return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)


def log_mel(audio: Array, sample_rate: int, n_mels: int = N_MELS) -> Array:
    """Log-mel spectrogram, shape (frames, n_mels); see the module's definitions."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    samples = _mono(audio)
    win = max(1, round(WINDOW_S * sample_rate))
    hop = max(1, round(HOP_S * sample_rate))
    if samples.size < win:
        samples = np.pad(samples, (0, win - samples.size))
    n_frames = 1 + (samples.size - win) // hop
    index = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)  # periodic Hann
    frames = samples[index] * hann
    n_fft = 1 << (win - 1).bit_length()
    # scaled so a full-scale sine centred on a bin reads 0.25 there (-6 dB)
    power = (np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) / np.sum(hann)) ** 2
    mel = power @ mel_filterbank(sample_rate, n_fft, n_mels).T
    return np.log(np.maximum(mel, LOG_FLOOR))


@dataclass(frozen=True)
class LogMelL1:
    distance: float  # mean |log-mel a - log-mel b| over the compared frames
    frames_compared: int  # the shorter clip's frames
    frames_a: int
    frames_b: int
    length_ratio: float  # samples b / samples a (inf when a is empty)


def log_mel_l1(a: Array, b: Array, sample_rate: int) -> LogMelL1:
    """Frame-by-frame log-mel L1 distance over the shorter clip; see the module docs."""
    ma, mb = log_mel(a, sample_rate), log_mel(b, sample_rate)
    n = min(len(ma), len(mb))
    distance = float(np.mean(np.abs(ma[:n] - mb[:n])))
    len_a, len_b = np.size(a), np.size(b)
    ratio = len_b / len_a if len_a else (1.0 if not len_b else math.inf)
    return LogMelL1(distance, n, len(ma), len(mb), ratio)


def cepstra(audio: Array, sample_rate: int) -> Array:
    """Mel cepstra, coefficients 1..12: ``c_d = 1/N sum_k ln A_k cos(pi d (k + 1/2) / N)``
    over the N mel bands' log amplitudes ``ln A_k`` (half the log power)."""
    first, stop = MCD_COEFFS
    log_amplitude = 0.5 * log_mel(audio, sample_rate)
    n_bands = log_amplitude.shape[1]
    # scipy's unnormalized DCT-II is 2 sum_k x_k cos(pi d (k + 1/2) / N)
    cepstrum = dct(log_amplitude, type=2, norm=None, axis=1) / (2.0 * n_bands)
    return np.asarray(cepstrum)[:, first:stop]


def dtw_path(x: Array, y: Array) -> tuple[Array, Array]:
    """The minimum-cost alignment of frame sequences ``x`` (n, d) and ``y`` (m, d):
    Euclidean frame cost, steps (1,1), (1,0), (0,1), from (0,0) to (n-1,m-1). Returns the
    path's row and column indices. O(n*m) time and memory, one numpy pass per row; ties
    go to the diagonal step."""
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError("DTW needs at least one frame on each side")
    acc = np.empty((n, m))
    previous = None
    for i in range(n):
        # the difference itself, not |x|^2 + |y|^2 - 2xy: identical frames cost exactly
        # 0, so identical audio aligns on the diagonal instead of on rounding noise
        cost = np.sqrt(np.sum((y - x[i]) ** 2, axis=1))
        # from above or diagonally, then left moves: acc[i, j] = min over k <= j of
        # (above[k] + cost[k+1..j]) = csum[j] + running min of (above[k] - csum[k]).
        if previous is None:
            acc[i] = np.cumsum(cost)
            previous = acc[i]
            continue
        above = previous.copy()
        above[1:] = np.minimum(previous[1:], previous[:-1])
        above += cost
        csum = np.cumsum(cost)
        acc[i] = np.minimum(above, csum + np.minimum.accumulate(above - csum))
        previous = acc[i]
    rows, cols = [n - 1], [m - 1]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            diagonal, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diagonal <= up and diagonal <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        rows.append(i)
        cols.append(j)
    return np.asarray(rows[::-1]), np.asarray(cols[::-1])


@dataclass(frozen=True)
class McdResult:
    mcd_db: float  # mean mel-cepstral distortion over the DTW-aligned frame pairs
    dtw_penalty: float  # 2 - (frames_a + frames_b) / path_length: 0 = no stretching
    frames_a: int
    frames_b: int
    path_length: int = 0  # aligned pairs (after decimation)
    decimation: int = 1  # every k-th frame went into DTW (1: all)


def mcd(a: Array, b: Array, sample_rate: int) -> McdResult:
    """Mel-cepstral distortion of ``b`` against ``a`` after DTW; see the module docs."""
    ca, cb = cepstra(a, sample_rate), cepstra(b, sample_rate)
    frames_a, frames_b = len(ca), len(cb)
    step = max(1, math.ceil(max(frames_a, frames_b) / MAX_DTW_FRAMES))
    xa, xb = ca[::step], cb[::step]
    rows, cols = dtw_path(xa, xb)
    diff = xa[rows] - xb[cols]
    per_frame = _MCD_SCALE * np.sqrt(np.sum(diff * diff, axis=1))
    penalty = 2.0 - (len(xa) + len(xb)) / len(rows)
    return McdResult(
        mcd_db=float(np.mean(per_frame)),
        dtw_penalty=float(max(0.0, penalty)),
        frames_a=frames_a,
        frames_b=frames_b,
        path_length=len(rows),
        decimation=step,
    )
