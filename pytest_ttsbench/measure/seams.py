"""Seams: audible discontinuities where a streamed trial's chunks meet. Pure: numpy only.

Definition (docs/METRICS.md repeats it; no other module may differ):

- **Boundaries.** Empty chunks are skipped; a boundary ``b`` is the index of the first
  sample of a non-empty chunk that follows another non-empty chunk in the concatenated
  audio ``x``. One non-empty chunk (or none) has no boundary, and 0 seams.
- **Burst.** ``e[i] = |x[i] - 3 x[i-1] + 3 x[i-2] - x[i-3]| / 2``: the third difference
  (the error of extrapolating a parabola through the three samples before ``i``, a
  high-pass rising 18 dB per octave), halved so that a step of height ``s`` reads ``s``. A
  smooth waveform keeps it small; a step, a kink (a phase reset), a dropped or repeated
  stretch or a cut to zeros puts the jump into it. The boundary's burst is
  ``max(e[b], e[b+1], e[b+2])``: the stencils that reach across it.
- **Local scale.** The largest ``e[i]`` whose stencil ``x[i-3..i]`` lies within
  :data:`WINDOW_S` (10 ms) of the boundary, on either side (inside ``x[b-w .. b+w-1]``,
  ``w = round(0.010 sr)``), the stencils across any chunk boundary left out. A boundary
  with no such stencil in reach (chunks of under 4 samples) is not judged.
- **Seam.** The burst is above :data:`FACTOR` (3) times the local scale AND above
  :data:`FLOOR_DBFS` (-50 dBFS: a step of 0.00316, at the silence floor of
  measure/audio.py), so a boundary in digital silence or a vocoder's noise floor never
  counts.
- ``seams``: the number of boundaries that are seams.

Why these numbers, measured on Kokoro-82M int8 speech (7 clips, 3 voices, English and
Japanese, 24 kHz: 3.1 million split points where nothing was cut): voiced speech has its
own bursts, one per glottal closure. Against the local *median* the burst reached 25
times the scale, and a rule at 10 times flagged 5 clean cuts in 10,000; against the local
*maximum* it never exceeded 2.27, so 3 leaves a margin. 10 ms holds a pitch period down
to 100 Hz on each side. The same clips with a stretch dropped, repeated or zero-filled at
a random audible point were flagged 47-50 % of the time, a zero fill 75 % of the time when
the cut sample is above 1.5 times the local RMS: a jump must beat the loudest natural
burst nearby, so a cut where the waveforms happen to meet is not counted, by design. (The
second difference flagged 39-41 %, the first 34-38 %, at the same false-alarm margin.)

Non-finite samples count as 0 (as for the level metrics of measure/audio.py); audio is
squeezed to mono, and a second channel is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.measure.audio import as_mono

if TYPE_CHECKING:
    from collections.abc import Sequence

WINDOW_S = 0.010  # the local scale's reach on each side of a boundary
FACTOR = 3.0  # how far a seam's burst stands above the local scale
FLOOR_DBFS = -50.0  # a burst at or below this (a step of 0.00316) never counts
_FLOOR = 10.0 ** (FLOOR_DBFS / 20.0)
_ORDER = 3  # the difference order: a stencil spans 4 samples

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _mono(audio: Any) -> FloatArray:
    """Audio as float64 mono, non-finite samples as 0 (measure/audio.py's convention)."""
    out = as_mono(audio)
    ok = np.isfinite(out)
    return out if ok.all() else np.where(ok, out, 0.0)


def boundaries(chunk_samples: Sequence[int]) -> list[int]:
    """The first sample of every non-empty chunk after the first non-empty one."""
    counts = [int(n) for n in chunk_samples]
    if any(n < 0 for n in counts):
        raise ValueError(f"chunk sample counts must be >= 0, got {counts}")
    ends = np.cumsum([n for n in counts if n > 0], dtype=np.int64)
    return [int(b) for b in ends[:-1]]


def window(sr: int) -> int:
    """Samples of the local scale's reach on each side (at least 4: one stencil)."""
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    return max(_ORDER + 1, round(WINDOW_S * sr))


def bursts(x: FloatArray) -> FloatArray:
    """``e[i] = |x[i] - 3 x[i-1] + 3 x[i-2] - x[i-3]| / 2`` for i in 3..n-1 (a step of
    height s reads s); 0 below 3 and at n and n+1 (past the end, so a boundary's
    ``e[b+1]`` and ``e[b+2]`` always exist)."""
    e = np.zeros(x.size + 2)
    if x.size > _ORDER:
        e[_ORDER : x.size] = np.abs(np.diff(x, _ORDER)) / 2.0
    return e


def find_seams(audio: Any, chunk_samples: Sequence[int], sr: int) -> list[int]:
    """The boundaries (sample indices into the concatenated audio) that are seams.

    ``chunk_samples`` must add up to the audio's length: the audio is the chunks, in order.
    """
    w = window(sr)
    x = _mono(audio)
    cuts = boundaries(chunk_samples)
    total = sum(int(n) for n in chunk_samples)
    if total != x.size:
        raise ValueError(f"chunks hold {total} samples, the audio {x.size}")
    if not cuts:
        return []
    e = bursts(x)
    at = np.asarray(cuts, dtype=np.int64)
    straddling = at[:, None] + np.arange(_ORDER)  # the stencils that reach across b
    burst = e[straddling].max(axis=1)
    natural = e.copy()  # the bursts of stencils clear of every boundary; -1: none
    natural[: min(_ORDER, x.size)] = -1.0  # no stencil ends before sample 3
    natural[straddling.ravel()] = -1.0
    found = []
    for b, jump in zip(cuts, burst.tolist(), strict=True):
        # stencils x[i-3..i] inside x[b-w .. b+w-1]: i in [b-w+3, b+w-1]
        local = float(natural[max(0, b - w + _ORDER) : min(x.size, b + w)].max(initial=-1.0))
        if local >= 0.0 and jump > _FLOOR and jump > FACTOR * local:
            found.append(b)
    return found


def count_seams(audio: Any, chunk_samples: Sequence[int], sr: int) -> int:
    """How many chunk boundaries of this audio are audible discontinuities."""
    return len(find_seams(audio, chunk_samples, sr))
