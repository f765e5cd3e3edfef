"""The bound grammar: ``"ttfa_ms.p95 <= 500"`` -> ``Bound``, with the metric name
resolved (aliases, statistics, suggestions for a misspelt name), and the fewest values
each statistic needs before a bound on it means what it says (``needed_n``)."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.metrics import STATISTICS, unit
from pytest_ttsbench.results.stats import CI_LEVEL, min_trials_for_percentile
from pytest_ttsbench.results.verdict import format_bound

if TYPE_CHECKING:
    from collections.abc import Iterable

OPERATORS = ("<=", "<", ">=", ">", "==", "in")
PERCENTILE_STATS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
# The smallest n whose distribution-free median CI reaches CI_LEVEL: 1 - 2 * 0.5**n >= level.
MIN_N_MEDIAN_CI = math.ceil(math.log2(2 / (1 - CI_LEVEL)))

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*")
_OP = re.compile(r"(in\b|[<>=!~]+)\s*")
_RANGE = re.compile(r"\[\s*([^,\]]+?)\s*,\s*([^,\]]+?)\s*\]\s*$")


class Problem(Exception):
    """A problem found while parsing, before the line is known: the caller adds where."""


@dataclass(frozen=True)
class Bound:
    """One bound, e.g. ``ttfa_ms.p95 <= 500``, with the metric name resolved."""

    expr: str  # as the user wrote it
    name: str  # the flat name BenchResult.metric takes: "ttfa_ms.p95", "load_s", "stalls.max"
    metric: str  # a gateable registry metric (results.metrics)
    statistic: str  # one of stats.STATISTICS; "" for one number per result (scalar, detail)
    op: str  # one of OPERATORS
    value: float  # the bound; the low end for "in"
    high: float | None  # the high end for "in"
    origin: str  # "path:line" or "marker on test_x"

    def text(self) -> str:
        if self.op == "in":
            return f"{self.name} in [{format_bound(self.value)}, {format_bound(self.high)}]"
        return f"{self.name} {self.op} {format_bound(self.value)}"

    def holds(self, x: float) -> bool:
        if self.op == "in":
            return self.value <= x <= (self.high if self.high is not None else math.inf)
        return {
            "<=": x <= self.value,
            "<": x < self.value,
            ">=": x >= self.value,
            ">": x > self.value,
            "==": x == self.value,
        }[self.op]


def needed_n(bound: Bound) -> int:
    """The fewest values a bound's statistic needs before it means what it says."""
    if bound.statistic in PERCENTILE_STATS:
        return min_trials_for_percentile(PERCENTILE_STATS[bound.statistic])
    if bound.statistic in ("ci_low", "ci_high"):
        return MIN_N_MEDIAN_CI
    if bound.statistic == "stdev":
        return 2
    return 1


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ""."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def gateable() -> tuple[str, ...]:
    """The metrics gates may judge, in registry order."""
    return tuple(m.name for m in metrics.REGISTRY if m.gateable)


def resolve_metric(name: str) -> tuple[str, str, str]:
    """A user's metric name -> (metric, statistic, flat name for BenchResult.metric).
    Series and pooled metrics need a statistic; scalar and detail metrics are one
    number per result and take none."""
    flat = metrics.resolve(name)
    base, dot, stat = flat.partition(".")
    metric = metrics.get(base)
    if metric is None or not metric.gateable:
        known = gateable()
        spelled = [old for old, new in metrics.aliases().items() if new.partition(".")[0] in known]
        choices = (*known, *spelled)
        raise Problem(
            f"unknown metric {name!r}{suggest(name, choices) or suggest(base, choices)}; "
            f"metrics: {', '.join(known)}"
        )
    if not metric.has_statistics:
        if dot:
            raise Problem(f"{base} is one number per result: write {base!r} without a statistic")
        return base, "", base
    if not dot:
        raise Problem(
            f"{base} needs a statistic, e.g. {base}.p50 or {base}.p95 "
            f"(one of {', '.join(STATISTICS)})"
        )
    if stat not in STATISTICS:
        raise Problem(
            f"unknown statistic {stat!r} of {base}{suggest(stat, STATISTICS)}; "
            f"statistics: {', '.join(STATISTICS)}"
        )
    return base, stat, flat


def _number(text: str, metric: str) -> float:
    try:
        value = float(text)
    except ValueError:
        metric_unit = unit(metric)
        hint = (
            f" (the unit comes from the name: {metric} is in {metric_unit})" if metric_unit else ""
        )
        raise Problem(f"bound {text!r} is not a number{hint}") from None
    if math.isnan(value):
        raise Problem("a bound cannot be NaN")
    return value


def parse_bound(expr: str, origin: str) -> Bound:
    """``"ttfa_ms.p95 <= 500"`` -> Bound. Raises Problem with a readable message."""
    m = _NAME.match(expr)
    if not m:
        raise Problem(
            f"cannot read bound {expr!r}: expected METRIC OPERATOR NUMBER, "
            f'e.g. "ttfa_ms.p95 <= 500"'
        )
    name = m.group(1)
    metric, stat, flat = resolve_metric(name)
    rest = expr[m.end() :]
    op_m = _OP.match(rest)
    if not op_m:
        raise Problem(
            f"bound {expr!r} has no operator after {name!r}; use <=, <, >=, >, == or in [lo, hi]"
        )
    op = op_m.group(1)
    if op not in OPERATORS:
        raise Problem(f"bad operator {op!r} in {expr!r}; use <=, <, >=, >, == or in [lo, hi]")
    value_text = rest[op_m.end() :].strip()
    if not value_text:
        raise Problem(f"bound {expr!r} has no value after {op!r}")
    if op == "in":
        r = _RANGE.match(value_text)
        if not r:
            raise Problem(f"bound {expr!r}: 'in' needs a range like [-20, -12]")
        low, high = _number(r.group(1), metric), _number(r.group(2), metric)
        if low > high:
            raise Problem(f"bound {expr!r}: the range's low end is above its high end")
        return Bound(expr, flat, metric, stat, op, low, high, origin)
    return Bound(expr, flat, metric, stat, op, _number(value_text, metric), None, origin)
