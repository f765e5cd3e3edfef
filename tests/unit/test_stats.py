"""stats.py against hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pytest_ttsbench.results import stats


def test_percentile_type7_by_hand() -> None:
    xs = [10.0, 20.0, 30.0, 40.0, 50.0]
    # h = (n-1) q: p90 -> h = 3.6 -> 40 + 0.6 * 10
    assert stats.percentile(xs, 90) == pytest.approx(46.0)
    assert stats.percentile(xs, 50) == 30.0
    assert stats.percentile(xs, 95) == pytest.approx(48.0)
    assert stats.percentile(xs, 0) == 10.0
    assert stats.percentile(xs, 100) == 50.0
    assert stats.percentile([7.0], 99) == 7.0


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no values"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        stats.percentile([1.0], 101)


def test_summary_by_hand() -> None:
    s = stats.summarize([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4
    assert s.mean == 2.5
    assert s.stdev == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5, n - 1 = 3
    assert (s.min, s.max, s.p50) == (1.0, 4.0, 2.5)
    assert s.cv == pytest.approx(math.sqrt(5 / 3) / 2.5)


def test_single_value_has_no_stdev() -> None:
    s = stats.summarize([5.0])
    assert s.stdev is None
    assert s.cv is None


def test_summary_refuses_nan() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        stats.summarize([1.0, math.nan])


def test_median_ci_n10_is_ranks_2_and_9() -> None:
    # n = 10: P(2 <= B <= 8) = 1 - 2 * P(B <= 1) = 1 - 2 * 11/1024 = 0.978515625
    xs = [float(v) for v in range(1, 11)]
    low, high, coverage = stats.median_ci(xs)
    assert (low, high) == (2.0, 9.0)
    assert coverage == pytest.approx(1 - 22 / 1024)


def test_median_ci_small_n_reports_its_real_coverage() -> None:
    # n = 5 cannot reach 95%: [min, max] covers 1 - 2/32 = 0.9375
    low, high, coverage = stats.median_ci([3.0, 1.0, 2.0, 5.0, 4.0])
    assert (low, high) == (1.0, 5.0)
    assert coverage == pytest.approx(0.9375)


def test_min_trials_for_percentiles() -> None:
    assert stats.min_trials_for_percentile(50) == 5
    assert stats.min_trials_for_percentile(90) == 29
    assert stats.min_trials_for_percentile(95) == 59
    assert stats.min_trials_for_percentile(99) == 299


def test_quantile_bounds() -> None:
    xs = [float(v) for v in range(1, 60)]  # 59 values
    # the max is a 95% upper bound of p95 with 59 samples, nothing lower is
    assert stats.quantile_upper_bound(xs, 95) == 59.0
    assert stats.quantile_upper_bound(xs[:20], 95) is None
    low = stats.quantile_lower_bound(xs, 50)
    assert low is not None
    assert low < stats.percentile(xs, 50)


def test_compare_detects_a_shift_and_not_noise() -> None:
    base = [100.0 + i for i in range(10)]
    slower = [120.0 + i for i in range(10)]
    c = stats.compare(base, slower)
    assert c.ratio == pytest.approx(124.5 / 104.5)
    assert c.significant
    same = stats.compare(base, list(reversed(base)))
    assert same.ratio == 1.0
    assert not same.significant
    assert stats.compare([1.0], [2.0]).p_value is None


def test_ns_to_ms_is_one_correctly_rounded_division() -> None:
    assert stats.ns_to_ms(702_847_210) == 702.84721
    assert stats.ns_to_ms(702_847_210) != 702_847_210 / 1e9 * 1e3  # the old latency formula
    assert stats.ns_to_ms(0) == 0.0
    assert stats.gaps_ms([5, 5, 1_000_005]) == [0.0, 1.0]
    assert stats.gaps_ms([7]) == []


def test_mann_whitney_less_matches_scipy_exact() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    for _ in range(50):
        n, m = (int(v) for v in rng.integers(1, 9, size=2))
        x = list(rng.normal(0, 1, n))
        y = list(rng.normal(0.5, 1, m))
        theirs = scipy_stats.mannwhitneyu(x, y, alternative="less", method="exact").pvalue
        assert stats.mann_whitney_less(x, y) == pytest.approx(theirs, rel=1e-12)


def test_mann_whitney_less_with_ties_counts_every_split() -> None:
    x, y = [1.0, 2.0, 2.0], [2.0, 3.0, 3.0, 4.0]
    ranks = [1.0, 3.0, 3.0, 3.0, 5.5, 5.5, 7.0]  # mid-ranks of the pooled values
    splits = list(itertools.combinations(range(7), 3))
    observed = sum(ranks[:3])
    expected = sum(sum(ranks[i] for i in s) <= observed for s in splits) / len(splits)
    assert stats.mann_whitney_less(x, y) == expected
    assert stats.mann_whitney_less([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]) == 1 / 70
    assert stats.mann_whitney_less([5.0], [1.0]) == 1.0


def test_mann_whitney_less_large_samples_use_the_normal_approximation() -> None:
    x = [float(v) for v in range(30)]
    y = [v + 10.5 for v in x]
    p = stats.mann_whitney_less(x, y)
    assert 0 < p < 0.01
    assert stats.mann_whitney_less(y, x) > 0.99
    with pytest.raises(ValueError, match="both sides"):
        stats.mann_whitney_less([], [1.0])
