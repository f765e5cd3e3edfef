"""Baselines: an earlier results JSON file, and regression verdicts against it on the
medians of the registry's baseline metrics (ttfa_ms, latency_ms, rtf; a Mann-Whitney U
test says whether a slowdown is significant)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.gates.files import GateFileError, display
from pytest_ttsbench.gates.rules import FAIL, PASS
from pytest_ttsbench.gates.units import with_unit
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.files import load_results_file
from pytest_ttsbench.results.keys import (
    LABELS,
    Difference,
    describe_differences,
    key_differences,
    result_key,
)
from pytest_ttsbench.results.stats import compare
from pytest_ttsbench.results.verdict import Verdict

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_ttsbench.results.model import BenchResult


def baseline_metrics() -> tuple[str, ...]:
    """The per-trial series compared with a baseline, in registry order (lower is
    better for each: a higher median is a regression)."""
    return tuple(m.name for m in metrics.REGISTRY if m.baseline)


# What makes two results the same benchmark; a baseline that shares these but differs in
# the rest (device, variant, hardware, stream mode, params) was measured otherwise and is
# named in a "not comparable" verdict instead of being compared.
_SAME_BENCHMARK = frozenset(LABELS[f] for f in ("model", "backend", "prompt", "suite", "test"))


@dataclass(frozen=True)
class Baseline:
    path: str
    results: tuple[BenchResult, ...] = field(default_factory=tuple)

    def find(self, result: BenchResult) -> BenchResult | None:
        """The baseline for ``result``: an entry with the same comparison key
        (``pytest_ttsbench.results.keys``), preferring the same node id; else the last."""
        found = self._ranked(result, lambda diffs: not diffs)
        return found[0][0] if found else None

    def closest(self, result: BenchResult) -> tuple[BenchResult, list[Difference]] | None:
        """The entry of the same benchmark (model, backend, prompt, suite, test) measured
        otherwise that differs in the fewest fields, with those fields; None if none."""

        def near(diffs: list[Difference]) -> bool:
            return bool(diffs) and not any(d.field in _SAME_BENCHMARK for d in diffs)

        found = self._ranked(result, near)
        return min(found, key=lambda hit: len(hit[1])) if found else None

    def _ranked(
        self, result: BenchResult, keep: Callable[[list[Difference]], bool]
    ) -> list[tuple[BenchResult, list[Difference]]]:
        # the same node id first, then the later entry: a file's last word wins
        key = result_key(result)
        hits = [(r, key_differences(result_key(r), key)) for r in self.results]
        kept = [hit for hit in reversed(hits) if keep(hit[1])]
        return sorted(kept, key=lambda hit: hit[0].test != result.test)


def load_baseline(path: Path) -> Baseline:
    """An earlier results JSON file, read by the results-file reader (one reader for one
    format). Raises GateFileError naming the file, and the line for JSON syntax errors."""
    shown = display(path)
    try:
        loaded = load_results_file(path)
    except FileNotFoundError:
        raise GateFileError(shown, None, "baseline file not found") from None
    except OSError as exc:
        raise GateFileError(shown, None, f"cannot read the baseline: {exc}") from None
    except ValueError as exc:  # ResultsFileError, or anything a malformed entry raised
        cause = exc.__cause__
        line = cause.lineno if isinstance(cause, json.JSONDecodeError) else None
        problem = str(exc).removeprefix(f"{path}: ")
        raise GateFileError(shown, line, f"not a usable baseline: {problem}") from None
    return Baseline(shown, tuple(loaded.results))


def compare_baseline(
    result: BenchResult, baseline: Baseline, max_regression: float
) -> list[Verdict]:
    """Regression verdicts on the medians of the baseline metrics. A metric
    fails only when its median got worse by more than ``max_regression`` (0.10 = 10%)
    AND a two-sided Mann-Whitney U test says p < 0.05. Without a baseline for this
    key, or with one of the same benchmark measured otherwise (another stream mode,
    params, hardware, device or variant), the answer is one informational "pass"
    verdict naming why, so the test is not affected and nothing reads "improved".
    """
    if not max_regression >= 0:
        raise ValueError(f"max_regression must be >= 0, got {max_regression}")
    origin = f"baseline {baseline.path}"
    match = baseline.find(result)
    if match is None:
        near = baseline.closest(result)
        reason = (
            f"baseline not comparable: {describe_differences(near[1])}"
            if near is not None
            else f"no baseline for this key ({result_key(result).describe()}) in {baseline.path}"
        )
        return [
            Verdict("baseline", "", "", 0.0, None, None, PASS, origin, reason, informational=True)
        ]
    verdicts = []
    for metric in baseline_metrics():
        current = result.series(metric)
        if not current:
            continue  # unmeasured now: the file gates already say so
        verdicts.append(_regression(metric, current, result, match, max_regression, origin))
    return verdicts


def _regression(
    metric: str,
    current: list[float],
    result: BenchResult,
    match: BenchResult,
    max_regression: float,
    origin: str,
) -> Verdict:
    summary = result.summaries.get(metric)
    ci = (summary.ci_low, summary.ci_high) if summary else (None, None)
    base_values = match.series(metric)
    if not base_values:
        base_summary = match.summaries.get(metric)
        base_median = base_summary.p50 if base_summary else None
        why = (
            "has no per-trial samples (trials stripped), so no significance test"
            if base_summary
            else f"has no {metric}"
        )
        cmp_median = summary.p50 if summary else None
        return Verdict(
            metric,
            "p50",
            "<=",
            (base_median or 0.0) * (1 + max_regression),
            cmp_median,
            len(current),
            PASS,
            origin,
            f"the baseline {why}",
            ci_low=ci[0],
            ci_high=ci[1],
            informational=True,
            baseline=base_median,
        )
    cmp = compare(base_values, current)
    limit = cmp.baseline_median * (1 + max_regression)
    change = f"{cmp.change:+.1%}" if math.isfinite(cmp.ratio) else "+inf%"
    p_text = "untestable (< 2 values a side)" if cmp.p_value is None else f"{cmp.p_value:.3g}"
    shown = (
        f"{metric}.p50 {with_unit(cmp.current_median, metric)} vs baseline "
        f"{with_unit(cmp.baseline_median, metric)} ({change}, limit "
        f"+{max_regression:.0%}; Mann-Whitney p = {p_text}, n = {len(current)} vs "
        f"{len(base_values)})"
    )
    worse = cmp.ratio > 1 + max_regression
    note = None
    if worse and cmp.significant:
        outcome, reason = FAIL, f"regression: {shown}"
    elif worse:
        outcome, reason = PASS, shown
        note = f"slower by {change} but not significant at p < 0.05"
    else:
        outcome, reason = PASS, shown
        if cmp.ratio < 1 and cmp.significant:
            note = f"improved: {change} against the baseline, significant"
    return Verdict(
        metric,
        "p50",
        "<=",
        limit,
        cmp.current_median,
        len(current),
        outcome,
        origin,
        reason,
        ci_low=ci[0],
        ci_high=ci[1],
        note=note,
        baseline=cmp.baseline_median,
        p_value=cmp.p_value,
    )
