"""Per-trial audio checks on float32 mono audio. Pure: no pytest, no engines.

Definitions (docs/METRICS.md repeats them; no other module may differ):

- Levels are dBFS with full scale 1.0: ``20 log10(|x|)`` for a peak and
  ``10 log10(mean(x**2))`` for an RMS level, so a full-scale square wave is 0 dBFS RMS
  and a full-scale sine is -3.01 dBFS RMS.
- Frames are consecutive, non-overlapping 10 ms windows (``round(sr / 100)`` samples)
  starting at sample 0; a shorter tail is a frame of its own. A frame is *audible* when
  its RMS level rises above :data:`SILENCE_FLOOR_DBFS` (strictly), otherwise *silent*.
- ``silence_ratio``: silent frames / frames.
- ``clipping_fraction``: samples with ``|x| >= CLIP_LEVEL`` / samples.
- ``peak_dbfs``: the sample peak, ``20 log10(max |x|)``.
- ``true_peak_dbtp``: the peak of the signal oversampled 4x by a polyphase FIR
  interpolator (the filter of ``scipy.signal.resample_poly(x, 4, 1)``: an 81-tap
  Kaiser-windowed sinc), after ITU-R BS.1770-4 Annex 2. It finds the peaks *between*
  samples that a DAC reconstructs, so it is >= the sample peak up to filter ripple;
  zero-stuffing without a filter would just return the sample peak again. The signal
  is taken as zero outside the clip, so an abrupt start or end rings as a DAC would.
- ``lufs``: integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks with
  75 % overlap, -70 LUFS absolute and -10 LU relative gates) from pyloudnorm. ``None``
  when the clip is shorter than one 400 ms block or no block passes the absolute gate
  (silence has no loudness; a number would be invented). ``notes`` says which.
- ``chars_per_s``: text characters (whitespace runs collapsed to one space, ends
  stripped) / audio seconds (all samples, leading and trailing silence included).
  Its plausible band (:func:`chars_per_s_band`) follows the text's script and the
  requested speed.

Non-finite samples (NaN, +-Inf) make a trial invalid. They are counted, then treated as
0 for every level metric, so the report still says what the finite part looked like.
"""

from __future__ import annotations

import functools
import math
import os
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import firwin

# -50 dBFS RMS over 10 ms: well above the noise floor of neural vocoders and of
# dithered digital silence (about -60 to -90 dBFS), well below quiet speech (soft
# fricatives sit around -40 dBFS RMS, voiced speech at -30 to -15).
SILENCE_FLOOR_DBFS = -50.0
FRAME_S = 0.010
# A sample at or beyond this magnitude counts as clipped (|x| >= 0.999, about -0.009 dBFS;
# values beyond 1.0 clip the moment they are written as PCM).
CLIP_LEVEL = 0.999
# Trial invalid above this: 1 sample in 1000 pinned at full scale is audible distortion,
# while an isolated full-scale sample from peak normalization is not.
MAX_CLIPPING_FRACTION = 0.001
# Trial invalid above this: at most 1 frame in 50 audible is no speech at all.
MAX_SILENCE_RATIO = 0.98
# Speaking rate, text characters per audio second at speed 1.0. Read English runs at
# about 13-16 (150-180 words/min, ~5.7 characters per word with its space); TTS engines
# span roughly 9-20 with their leading/trailing silence. Below 5 means far more audio
# than text (runaway generation, babble, a stuck decoder); above 30 means less audio
# than the text can be spoken in (truncation, skipped sentences).
DEFAULT_CHARS_PER_S = (5.0, 30.0)
# Scripts that pack a syllable or more into one character (Han, kana, Hangul, Yi) speak
# about 3-8 characters per second. A character counts as dense by its code point: the
# blocks below (first, last), their punctuation and full-width forms included.
DENSE_SCRIPT_CHARS_PER_S = (1.5, 15.0)
_DENSE_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility jamo, CJK strokes, kana extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA000, 0xA4CF),  # Yi
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Hangul Jamo Extended-B
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3FFFF),  # CJK Unified Ideographs Extensions B and later
)
# Below this many characters, leading/trailing silence and spelled-out numbers or
# abbreviations dominate the audio length, so only the upper bound (truncation) is checked.
MIN_CHARS_FOR_LOWER_RATE = 20
LUFS_BLOCK_S = 0.400  # pyloudnorm's (and BS.1770's) gating block
OVERSAMPLE = 4
_HALF_LEN = 10  # interpolation filter half length, in input samples (resample_poly's)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def text_chars(text: str) -> int:
    """Characters counted for the speaking rate: whitespace runs count as one space."""
    return len(" ".join(text.split()))


def dense_chars(text: str) -> int:
    """Characters of ``text`` in a dense script (Han, kana, Hangul, Yi; see _DENSE_BLOCKS)."""
    return sum(any(a <= ord(ch) <= b for a, b in _DENSE_BLOCKS) for ch in text)


def chars_per_s_band(text: str, speed: float = 1.0) -> tuple[float, float]:
    """The plausible speaking-rate band of ``text`` spoken at ``speed``, characters per
    second counted as :func:`text_chars` counts them.

    Each character takes its script's time: a dense-script one (:func:`dense_chars`)
    that of DENSE_SCRIPT_CHARS_PER_S, any other (Latin, Cyrillic, Arabic, spaces and
    punctuation...) that of DEFAULT_CHARS_PER_S; each bound is the characters over
    their summed time, so a mixed text gets a band between the two. ``speed`` scales it:
    at 0.5 the engine speaks half as many characters per second.
    """
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a positive number, got {speed}")
    counted = " ".join(text.split())
    dense = dense_chars(counted)
    other = len(counted) - dense
    if not counted:
        low, high = DEFAULT_CHARS_PER_S
    else:
        low = len(counted) / (other / DEFAULT_CHARS_PER_S[0] + dense / DENSE_SCRIPT_CHARS_PER_S[0])
        high = len(counted) / (other / DEFAULT_CHARS_PER_S[1] + dense / DENSE_SCRIPT_CHARS_PER_S[1])
    return low * speed, high * speed


def as_mono(audio: Any) -> FloatArray:
    """Audio as float64 mono (a squeezable extra axis dropped); ValueError otherwise."""
    x = np.asarray(audio)
    if x.ndim > 1:
        squeezed = np.squeeze(x)
        if squeezed.ndim > 1:
            raise ValueError(f"audio has shape {x.shape}: expected mono")
        x = squeezed
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _finite(x: FloatArray) -> tuple[FloatArray, int]:
    """x with non-finite samples set to 0, and how many there were."""
    ok = np.isfinite(x)
    bad = int(x.size - np.count_nonzero(ok))
    return (x if bad == 0 else np.where(ok, x, 0.0)), bad


def _check_rate(sr: int) -> None:
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")


def frame_len(sr: int) -> int:
    """Samples per 10 ms frame at this sample rate (at least 1)."""
    return max(1, round(sr * FRAME_S))


def _frame_power(x: FloatArray, sr: int) -> FloatArray:
    """Mean square of each 10 ms frame (a shorter tail is its own frame)."""
    f = frame_len(sr)
    full = x.size // f
    squares = np.square(x)
    power: FloatArray = squares[: full * f].reshape(full, f).mean(axis=1)
    if x.size > full * f:
        power = np.append(power, squares[full * f :].mean())
    return power


_FLOOR_POWER = 10.0 ** (SILENCE_FLOOR_DBFS / 10.0)


def _audible_frames(x: FloatArray, sr: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    audible: np.ndarray[Any, np.dtype[np.bool_]] = _frame_power(x, sr) > _FLOOR_POWER
    return audible


def first_audible_sample(audio: Any, sr: int) -> int | None:
    """Index of the first sample of the first 10 ms frame that rises above the floor.

    ``None`` when no frame does (empty or silent audio). Non-finite samples count as 0.
    """
    _check_rate(sr)
    x, _ = _finite(as_mono(audio))
    hits = np.flatnonzero(_audible_frames(x, sr))
    return int(hits[0]) * frame_len(sr) if hits.size else None


def is_audible(audio: Any, sr: int) -> bool:
    """Whether any 10 ms frame of this chunk rises above the silence floor.

    Same frames and floor as :func:`first_audible_sample`; for one chunk it is exactly
    ``first_audible_sample(chunk, sr) is not None``.
    """
    _check_rate(sr)
    x, _ = _finite(as_mono(audio))
    return bool(_audible_frames(x, sr).any())


def _db(amplitude: float) -> float | None:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else None


@functools.cache
def _interpolator_phases() -> tuple[FloatArray, ...]:
    """The 4 polyphase branches of resample_poly(x, 4, 1)'s default filter.

    An 81-tap (half length 10 input samples) Kaiser-windowed (beta 5) sinc low-pass at
    the input Nyquist frequency, gain 4 so that each branch has unit gain at DC.
    """
    taps = 2 * _HALF_LEN * OVERSAMPLE + 1
    h = np.asarray(firwin(taps, 1.0 / OVERSAMPLE, window=("kaiser", 5.0)), dtype=np.float64)
    h *= OVERSAMPLE
    return tuple(np.ascontiguousarray(h[p::OVERSAMPLE]) for p in range(OVERSAMPLE))


@functools.cache
def _interpolator() -> tuple[FloatArray, float, float]:
    """The branches as one matrix, and two constants of the skip-quiet-parts bound.

    Returns ``(m, gain, floor)``: with ``r = x[q-10 : q+11]`` (zero outside the clip),
    ``m @ r`` is resample_poly's outputs 4q..4q+3; every output satisfies
    ``|y| <= gain * max|r|``; the branch-0 output at the loudest sample is at least
    ``floor * max|x|``.
    """
    phases = _interpolator_phases()
    width = 2 * _HALF_LEN + 1
    m = np.zeros((OVERSAMPLE, width))
    for p, g in enumerate(phases):
        m[p, width - 1 - np.arange(g.size)] = g  # window index j pairs with tap 20 - j
    gain = max(float(np.abs(g).sum()) for g in phases)
    g0 = np.abs(phases[0])
    floor = float(g0[_HALF_LEN] - (g0.sum() - g0[_HALF_LEN]))
    return m, gain, floor


def _true_peak_all(x: FloatArray) -> float:
    n = x.size
    # Output 4q + p of resample_poly is (x * h[p::4])[q + _HALF_LEN] (full convolution).
    return max(
        float(np.max(np.abs(np.convolve(x, g)[_HALF_LEN : _HALF_LEN + n])))
        for g in _interpolator_phases()
    )


def true_peak(x: FloatArray) -> float:
    """Peak magnitude of x oversampled 4x with a polyphase interpolation filter.

    Equal to ``max(abs(scipy.signal.resample_poly(x, 4, 1)))`` (the unit tests hold it
    to that, signal zero outside the clip) but computed only where it can matter: an
    output is a weighted sum of 21 neighbouring samples, so it cannot exceed ``gain``
    (2.24) times their largest magnitude; windows whose samples all sit more than
    ~7 dB below the sample peak cannot beat the output at the sample peak and are
    skipped. Speech has few such loud windows: 10 s at 24 kHz takes ~3 ms instead of
    ~10-13 ms. Dense loud signals (tones, white noise) take the full polyphase path.
    """
    n = x.size
    if n == 0:
        return 0.0
    magnitude = np.abs(x)
    peak = float(np.max(magnitude))
    if peak == 0.0:
        return 0.0
    m, gain, floor = _interpolator()
    hot = np.flatnonzero(magnitude >= peak * floor / gain)
    width = 2 * _HALF_LEN + 1
    if hot.size * width > n // 4:
        return _true_peak_all(x)
    # Outputs at q need computing when a loud sample lies in x[q-10 : q+11].
    near = np.zeros(n + 2 * _HALF_LEN, dtype=np.bool_)
    for shift in range(width):
        near[hot + shift] = True
    positions = np.flatnonzero(near[_HALF_LEN : _HALF_LEN + n])
    windows = sliding_window_view(np.pad(x, _HALF_LEN), width)[positions]
    # einsum, not @: BLAS threads spin and stall on a loaded machine for this shape.
    return float(np.max(np.abs(np.einsum("ij,kj->ik", windows, m))))


def integrated_lufs(x: FloatArray, sr: int) -> tuple[float | None, str | None]:
    """BS.1770 integrated loudness, or (None, why not)."""
    if x.size < LUFS_BLOCK_S * sr:
        return None, (
            f"LUFS not measured: {x.size / sr * 1e3:.0f} ms is shorter than one "
            f"{LUFS_BLOCK_S * 1e3:.0f} ms BS.1770 block"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(pyloudnorm.Meter(sr).integrated_loudness(x))
    if not math.isfinite(value):
        return None, "LUFS not measured: no 400 ms block is above the -70 LUFS absolute gate"
    return value, None


@dataclass
class AudioReport:
    """What one trial's audio looked like, and why it is invalid (``problems``)."""

    samples: int
    sample_rate: int
    seconds: float
    has_nan_or_inf: bool
    nonfinite_samples: int
    empty: bool
    silence_ratio: float | None  # None when empty
    clipping_fraction: float | None  # None when empty
    peak_dbfs: float | None  # None when empty or digital silence (-inf)
    lufs: float | None  # None when < 400 ms or below the absolute gate (see notes)
    true_peak_dbtp: float | None  # None when empty or digital silence
    chars_per_s: float | None  # None without text or audio
    text_chars: int | None  # None without text
    first_audible_s: float | None  # start of the first audible frame
    problems: list[str] = field(default_factory=list)  # any -> the trial is invalid
    notes: list[str] = field(default_factory=list)  # what was not measured, and why

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_metrics(self) -> dict[str, float | None]:
        """The per-trial series (results.metrics) that audio checks own."""
        return {
            "lufs": self.lufs,
            "true_peak_dbtp": self.true_peak_dbtp,
            "peak_dbfs": self.peak_dbfs,
            "silence_ratio": self.silence_ratio,
            "clipping_fraction": self.clipping_fraction,
            "chars_per_s": self.chars_per_s,
        }


def check(
    audio: Any,
    sr: int,
    text: str | None = None,
    expected_chars_per_s: tuple[float, float] | None = None,
    *,
    max_clipping_fraction: float = MAX_CLIPPING_FRACTION,
    max_silence_ratio: float = MAX_SILENCE_RATIO,
    capped: bool = False,
) -> AudioReport:
    """Measure one trial's audio and list every reason it is not usable speech.

    ``capped``: the call had a length cap (``--tts-max-audio``, 2 s on random weights),
    so audio cut short by it is by request: the "too fast" bound is not judged then.

    ``expected_chars_per_s`` is the speaking-rate band at the requested speed; None:
    :func:`chars_per_s_band` of ``text`` at speed 1.0 (pass it the speed otherwise).
    The upper bound is always checked; the lower bound only for texts of at least
    ``MIN_CHARS_FOR_LOWER_RATE`` characters.
    """
    _check_rate(sr)
    raw = as_mono(audio)
    x, bad = _finite(raw)
    n = int(x.size)
    seconds = n / sr
    problems: list[str] = []
    notes: list[str] = []
    nchars = text_chars(text) if text is not None else None

    if bad:
        problems.append(f"{bad} of {n} samples are NaN or Inf (treated as 0 for the level metrics)")
    if n == 0:
        problems.append("empty audio: 0 samples")
        return AudioReport(
            samples=0,
            sample_rate=sr,
            seconds=0.0,
            has_nan_or_inf=False,
            nonfinite_samples=0,
            empty=True,
            silence_ratio=None,
            clipping_fraction=None,
            peak_dbfs=None,
            lufs=None,
            true_peak_dbtp=None,
            chars_per_s=None,
            text_chars=nchars,
            first_audible_s=None,
            problems=problems,
            notes=["no audio: nothing measured"],
        )

    audible = _audible_frames(x, sr)
    silence_ratio = 1.0 - float(np.count_nonzero(audible)) / audible.size
    hits = np.flatnonzero(audible)
    first_audible_s = int(hits[0]) * frame_len(sr) / sr if hits.size else None
    magnitude = np.abs(x)
    clipping_fraction = float(np.count_nonzero(magnitude >= CLIP_LEVEL)) / n

    peak = float(np.max(magnitude))
    peak_dbfs = _db(peak)
    true_peak_dbtp = _db(true_peak(x)) if peak > 0 else None
    if peak == 0:
        notes.append("digital silence: peak and true peak are -inf dBFS, reported as None")
    lufs, why = integrated_lufs(x, sr)
    if why:
        notes.append(why)

    if silence_ratio >= 1.0:
        problems.append(
            f"all silence: no 10 ms frame rises above {SILENCE_FLOOR_DBFS:g} dBFS RMS "
            f"(peak {_fmt_db(peak_dbfs)} dBFS)"
        )
    elif silence_ratio > max_silence_ratio:
        problems.append(
            f"nearly all silence: {silence_ratio:.1%} of 10 ms frames are below "
            f"{SILENCE_FLOOR_DBFS:g} dBFS RMS (limit {max_silence_ratio:.0%})"
        )
    if clipping_fraction > max_clipping_fraction:
        problems.append(
            f"clipping: {clipping_fraction:.2%} of samples at |x| >= {CLIP_LEVEL:g} "
            f"(limit {max_clipping_fraction:.2%})"
        )

    chars_per_s: float | None = None
    if nchars is not None:
        if nchars == 0:
            notes.append("speaking rate not checked: the text is empty")
        else:
            chars_per_s = nchars / seconds
            band = expected_chars_per_s or chars_per_s_band(text or "")
            if capped:  # stopped by the cap, by request: only the slow bound holds
                band = (band[0], float("inf"))
                notes.append("speaking rate upper bound not checked: the call had a length cap")
            problems.extend(_rate_problems(nchars, seconds, chars_per_s, band))
            if nchars < MIN_CHARS_FOR_LOWER_RATE:
                notes.append(
                    f"speaking rate lower bound not checked: {nchars} characters "
                    f"< {MIN_CHARS_FOR_LOWER_RATE}"
                )

    return AudioReport(
        samples=n,
        sample_rate=sr,
        seconds=seconds,
        has_nan_or_inf=bad > 0,
        nonfinite_samples=bad,
        empty=False,
        silence_ratio=silence_ratio,
        clipping_fraction=clipping_fraction,
        peak_dbfs=peak_dbfs,
        lufs=lufs,
        true_peak_dbtp=true_peak_dbtp,
        chars_per_s=chars_per_s,
        text_chars=nchars,
        first_audible_s=first_audible_s,
        problems=problems,
        notes=notes,
    )


def _rate_problems(
    nchars: int, seconds: float, rate: float, band: tuple[float, float]
) -> list[str]:
    low, high = band
    said = f"{nchars} characters in {seconds:.2f} s of audio = {rate:.1f} chars/s"
    if rate > high:
        return [f"speaking rate too fast: {said} > {high:.3g} (truncated audio?)"]
    if rate < low and nchars >= MIN_CHARS_FOR_LOWER_RATE:
        return [f"speaking rate too slow: {said} < {low:.3g} (runaway generation?)"]
    return []


def _fmt_db(value: float | None) -> str:
    return "-inf" if value is None else f"{value:.1f}"


def write_wav(path: str | os.PathLike[str], audio: Any, sr: int) -> Path:
    """Write mono 16-bit PCM WAV atomically (temp file + rename); returns the path.

    Samples are clipped to [-1, 1] and scaled by 32767; NaN becomes 0, +-Inf full scale.
    """
    _check_rate(sr)
    x = np.nan_to_num(as_mono(audio), nan=0.0, posinf=1.0, neginf=-1.0)
    pcm = np.rint(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so the rename is atomic; "x" mode: never clobber a stranger's file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("xb") as fh, wave.open(fh, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(int(sr))
            wav.writeframes(pcm.tobytes())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
