"""Paired comparisons of two configurations over the same prompts. Pure: no pytest.

Definitions (docs/METRICS.md repeats them; no other module may differ):

- ``paired_difference(a, b)``: the per-prompt differences ``b[i] - a[i]`` (b the
  configuration under test, a the reference), their mean, and a two-sided t-interval
  for that mean: ``mean +- t(1 - alpha/2, n - 1) * sd / sqrt(n)`` with the sample
  standard deviation (ddof 1). With fewer than two pairs there is no interval (None).
  All differences equal gives a zero-width interval.
- ``duration_ratio(a, b)``: the geometric mean of the per-prompt ratios ``b[i] / a[i]``
  (each prompt counts the same, whatever its length), with the same t-interval taken on
  the log ratios and mapped back: 1.0 means the same length, 1.1 means b is 10 % longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedDiff:
    mean_diff: float  # mean of b - a
    ci_low: float | None  # None with fewer than two pairs
    ci_high: float | None
    n: int
    mean_a: float = math.nan
    mean_b: float = math.nan
    confidence: float = CONFIDENCE

    def relative(self) -> float | None:
        """mean_diff / mean_a (for "within 5 % of the reference"); None when mean_a is 0."""
        return self.mean_diff / self.mean_a if self.mean_a else None


@dataclass(frozen=True)
class RatioCI:
    ratio: float  # geometric mean of b / a
    ci_low: float | None
    ci_high: float | None
    n: int
    confidence: float = CONFIDENCE


def _pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.ndim != 1 or xa.shape != xb.shape:
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    if xa.size == 0:
        raise ValueError("paired samples need at least one pair")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
        raise ValueError("paired samples must be finite (drop invalid trials first)")
    return xa, xb


def _t_interval(diffs: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    n = diffs.size
    if n < 2:
        return None, None
    from scipy.stats import t

    mean = float(np.mean(diffs))
    half = float(t.ppf(0.5 + confidence / 2.0, n - 1)) * float(np.std(diffs, ddof=1))
    half /= math.sqrt(n)
    return mean - half, mean + half


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> PairedDiff:
    """Mean of ``b - a`` over pairs, with its t-interval; see the module docs."""
    xa, xb = _pairs(a, b)
    diffs = xb - xa
    low, high = _t_interval(diffs, confidence)
    return PairedDiff(
        mean_diff=float(np.mean(diffs)),
        ci_low=low,
        ci_high=high,
        n=int(diffs.size),
        mean_a=float(np.mean(xa)),
        mean_b=float(np.mean(xb)),
        confidence=confidence,
    )


def duration_ratio(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> RatioCI:
    """Geometric-mean ratio of durations ``b / a`` with its interval; see the module docs."""
    xa, xb = _pairs(a, b)
    if np.any(xa <= 0) or np.any(xb <= 0):
        raise ValueError("durations must be positive")
    logs = np.log(xb) - np.log(xa)
    low, high = _t_interval(logs, confidence)
    return RatioCI(
        ratio=math.exp(float(np.mean(logs))),
        ci_low=None if low is None else math.exp(low),
        ci_high=None if high is None else math.exp(high),
        n=int(logs.size),
        confidence=confidence,
    )
