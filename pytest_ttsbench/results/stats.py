"""Percentiles, confidence intervals and comparisons. Pure: no pytest, no engines.

One percentile method everywhere: linear interpolation between closest ranks
(Hyndman & Fan type 7, numpy's default): for sorted x[0..n-1] and q in [0, 1],
h = (n - 1) q, p_q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).

The 95% confidence interval of the median is distribution-free: the order
statistics x[l], x[u] with the narrowest symmetric ranks whose binomial coverage
P(l < B <= u), B ~ Binomial(n, 1/2), is at least 95%. With n < 6 no pair reaches
95%; the interval is then [min, max] and ``ci_coverage`` says what it really covers.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

PERCENTILES = (50, 90, 95, 99)
CI_LEVEL = 0.95
NS_PER_MS = 1_000_000


# ---- the clock ---------------------------------------------------------------------------
def ns_to_ms(ns: int) -> float:
    """Milliseconds from integer ``perf_counter_ns`` nanoseconds: the one conversion every
    time metric uses. int / int is correctly rounded, hence monotonic: equal stamps give
    equal numbers and ordered stamps ordered ones (one chunk: TTFA == latency, exactly).
    Two formulas (``ns / 1e6`` against ``ns / 1e9 * 1e3``) differ for ~1 in 8 integers."""
    return ns / NS_PER_MS


def gaps_ms(chunk_ns: Sequence[int]) -> list[float]:
    """``t_k - t_{k-1}`` for k >= 1 over every chunk stamp (empty chunks too), in ms:
    subtracted as integers, converted once."""
    return [ns_to_ms(b - a) for a, b in itertools.pairwise(chunk_ns)]


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p90: float
    p95: float
    p99: float
    mean: float
    stdev: float | None  # sample stdev (n - 1); None for n = 1
    min: float
    max: float
    ci_low: float  # 95% CI of the median
    ci_high: float
    ci_coverage: float  # the exact coverage of [ci_low, ci_high]

    def get(self, stat: str) -> float | None:
        value = getattr(self, stat, None)
        return None if value is None else float(value)

    @property
    def cv(self) -> float | None:
        """Coefficient of variation, stdev / mean."""
        if self.stdev is None or self.mean == 0:
            return None
        return self.stdev / abs(self.mean)


def percentile(values: Sequence[float], q: float) -> float:
    """Type-7 percentile, ``q`` in percent (0..100)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    xs = sorted(values)
    h = (len(xs) - 1) * q / 100
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def _binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P(B <= k) for B ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def median_ci(values: Sequence[float], level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Distribution-free CI of the median: (low, high, exact coverage)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median CI of no values")
    if n == 1:
        return xs[0], xs[0], 0.0
    best: tuple[float, float, float] | None = None
    # ranks are 1-based: [x_(k), x_(n-k+1)] covers with P(k <= B <= n-k) = 1 - 2 P(B <= k-1)
    for k in range(n // 2, 0, -1):
        coverage = 1 - 2 * _binom_cdf(k - 1, n)
        if coverage >= level:
            best = (xs[k - 1], xs[n - k], coverage)
            break
    if best is None:
        best = (xs[0], xs[-1], 1 - 2 * _binom_cdf(0, n))
    return best


def summarize(values: Sequence[float]) -> Summary:
    """Every statistic the plugin reports, from one list of finite values."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("summary of no values")
    if not all(math.isfinite(v) for v in xs):
        raise ValueError("summary of non-finite values")
    n = len(xs)
    mean = math.fsum(xs) / n
    stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in xs) / (n - 1)) if n > 1 else None
    low, high, coverage = median_ci(xs)
    return Summary(
        n=n,
        p50=percentile(xs, 50),
        p90=percentile(xs, 90),
        p95=percentile(xs, 95),
        p99=percentile(xs, 99),
        mean=mean,
        stdev=stdev,
        min=min(xs),
        max=max(xs),
        ci_low=low,
        ci_high=high,
        ci_coverage=coverage,
    )


def min_trials_for_percentile(q: float, confidence: float = CI_LEVEL) -> int:
    """Fewest samples for which the sample maximum is a ``confidence`` upper bound of
    the q-th percentile: 1 - (q/100)^n >= confidence. p50 -> 5, p90 -> 29, p95 -> 59,
    p99 -> 299. Below that, "p95" is just the largest value seen, not a p95 claim.
    """
    if not 0 < q < 100:
        raise ValueError(f"percentile {q} outside (0, 100)")
    if q <= 50:
        q = 100 - q  # symmetric for lower percentiles
    return math.ceil(math.log(1 - confidence) / math.log(q / 100))


def quantile_upper_bound(
    values: Sequence[float], q: float, confidence: float = CI_LEVEL
) -> float | None:
    """A distribution-free upper confidence bound of the q-th percentile: the smallest
    order statistic x_(k) with P(B < k) >= confidence, B ~ Binomial(n, q/100).
    None when n is too small for any order statistic to give that confidence.
    """
    xs = sorted(values)
    n = len(xs)
    p = q / 100
    for k in range(1, n + 1):
        if _binom_cdf(k - 1, n, p) >= confidence:
            return xs[k - 1]
    return None


def quantile_lower_bound(
    values: Sequence[float], q: float, confidence: float = CI_LEVEL
) -> float | None:
    """The mirror of :func:`quantile_upper_bound`: x_(k) with P(B >= k) >= confidence."""
    xs = sorted(values)
    n = len(xs)
    p = q / 100
    for k in range(n, 0, -1):
        if 1 - _binom_cdf(k - 1, n, p) >= confidence:
            return xs[k - 1]
    return None


@dataclass(frozen=True)
class Comparison:
    """current vs baseline medians: ratio > 1 means current is larger (slower)."""

    baseline_median: float
    current_median: float
    ratio: float
    p_value: float | None  # two-sided Mann-Whitney U; None when either side has < 2 values
    significant: bool

    @property
    def change(self) -> float:
        return self.ratio - 1


def compare(baseline: Sequence[float], current: Sequence[float], alpha: float = 0.05) -> Comparison:
    """Median ratio with a Mann-Whitney U test (exact where scipy can, else asymptotic)."""
    if not baseline or not current:
        raise ValueError("comparison needs values on both sides")
    b_med = percentile(baseline, 50)
    c_med = percentile(current, 50)
    ratio = c_med / b_med if b_med else math.inf
    p_value: float | None = None
    if len(baseline) >= 2 and len(current) >= 2:
        from scipy.stats import mannwhitneyu  # scipy is a core dependency

        if len(set(baseline) | set(current)) == 1:
            p_value = 1.0
        else:
            p_value = float(mannwhitneyu(current, baseline, alternative="two-sided").pvalue)
    significant = p_value is not None and p_value < alpha
    return Comparison(b_med, c_med, ratio, p_value, significant)


# Exact distributions up to this many values in all (the cache check uses 8 to 20);
# the counting table grows as n^3, so above it the normal approximation takes over.
EXACT_MAX_N = 40


def mann_whitney_less(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided Mann-Whitney U test that ``x`` tends to be smaller than ``y``: the
    p-value P(R <= r) of the rank sum r of ``x`` among all ways to split the pooled
    values into groups of these sizes (ties get mid-ranks). Exact up to
    :data:`EXACT_MAX_N` values, counted rather than simulated; above, scipy's normal
    approximation with tie correction. The smallest p with n values each is
    1 / C(2n, n): 4 + 4 values can reach 1/70 = 0.014, 3 + 3 only 0.05."""
    if not x or not y:
        raise ValueError("Mann-Whitney test needs values on both sides")
    if len(x) + len(y) > EXACT_MAX_N:
        from scipy.stats import mannwhitneyu  # scipy is a core dependency; loaded lazily

        return float(mannwhitneyu(x, y, alternative="less", method="asymptotic").pvalue)
    doubled = _doubled_midranks([*x, *y])
    observed = sum(doubled[: len(x)])
    # ways[k][s]: subsets of k values whose doubled rank sum is s
    top = sum(doubled)
    ways = [[0] * (top + 1) for _ in range(len(x) + 1)]
    ways[0][0] = 1
    for seen, rank in enumerate(doubled, start=1):
        for k in range(min(seen, len(x)), 0, -1):
            row, below = ways[k], ways[k - 1]
            for s in range(top, rank - 1, -1):
                if below[s - rank]:
                    row[s] += below[s - rank]
    at_most = sum(ways[len(x)][: observed + 1])
    return at_most / math.comb(len(doubled), len(x))


def _doubled_midranks(values: Sequence[float]) -> list[int]:
    """2 x the 1-based mid-rank of each value, in input order (integers: exact sums)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            out[i] = start + end + 2  # (start + 1 + end + 1) / 2, doubled
        start = end + 1
    return out
