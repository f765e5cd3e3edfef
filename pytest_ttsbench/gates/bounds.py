"""The bound grammar: ``"ttfa_ms.p95 <= 500"`` -> ``Bound``, with the metric name
resolved (aliases, statistics, suggestions for a misspelt name), and the fewest values
each statistic needs before a bound on it means what it says (``needed_n``)."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.gates.units import unit
from pytest_ttsbench.results.metrics import STATISTICS
from pytest_ttsbench.results.model import ALIASES, POOLED, SCALARS, SERIES
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
_ALL_NAMES = (*SERIES, *POOLED, *SCALARS, *ALIASES)


class Problem(Exception):
    """A problem found while parsing, before the line is known: the caller adds where."""


@dataclass(frozen=True)
class Bound:
    """One bound, e.g. ``ttfa_ms.p95 <= 500``, with the metric name resolved."""

    expr: str  # as the user wrote it
    name: str  # the flat name BenchResult.metric takes: "ttfa_ms.p95", "load_s", "stalls.max"
    metric: str  # series, pooled or scalar name
    statistic: str  # one of stats.STATISTICS; "" for a scalar
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


def resolve_metric(name: str) -> tuple[str, str, str]:
    """A user's metric name -> (metric, statistic, flat name for BenchResult.metric)."""
    flat = ALIASES.get(name, name)
    if flat in SCALARS:
        return flat, "", flat
    series, dot, stat = flat.partition(".")
    if series in SCALARS:
        raise Problem(f"{series} is one number per result: write {series!r} without a statistic")
    if series not in SERIES and series not in POOLED:
        raise Problem(
            f"unknown metric {name!r}{suggest(name, _ALL_NAMES) or suggest(series, _ALL_NAMES)}; "
            f"metrics: "
            f"{', '.join((*SERIES, *POOLED, *SCALARS))}"
        )
    if not dot:
        raise Problem(
            f"{series} needs a statistic, e.g. {series}.p50 or {series}.p95 "
            f"(one of {', '.join(STATISTICS)})"
        )
    if stat not in STATISTICS:
        raise Problem(
            f"unknown statistic {stat!r} of {series}{suggest(stat, STATISTICS)}; "
            f"statistics: {', '.join(STATISTICS)}"
        )
    return series, stat, flat


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
