"""What a metric registry entry is (results.metrics): the metric, the doc and terminal
columns that show it, and the number formats of their cells.

Pure data and formatting: no pytest, no numpy, nothing from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["series", "pooled", "scalar", "detail"]
Better = Literal["lower", "higher", "none"]

# The statistics of a series (results.stats.Summary's fields, in its order).
STATISTICS = ("n", "p50", "p90", "p95", "p99", "mean", "stdev", "min", "max", "ci_low", "ci_high")

NA = "n/a"  # an unmeasured value in a table cell
UNCHECKED = "unchecked"  # a check that did not run (Metric.checked_by says which)
TTFA_MS = "ttfa_ms"  # the headline metric, named by code that computes or orders by it


# ---- number formats: a table cell's text for a value ----------------------------------
def fmt_ms(value: float | None) -> str:
    if value is None:
        return NA
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return NA
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def fmt_mb(value: float | None) -> str:
    return NA if value is None else f"{value:.0f}"


def fmt_s(value: float | None) -> str:
    if value is None:
        return NA
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def fmt_fixed(value: float | None, digits: int) -> str:
    return NA if value is None else f"{value:.{digits}f}"


Format = Literal["ms", "ratio", "mb", "s", "0", "1", "2", "3"]


def format_value(fmt: Format, value: float | None) -> str:
    """A value as a table cell shows it in ``fmt``: ms, ratio, mb, s or fixed digits."""
    if fmt == "ms":
        return fmt_ms(value)
    if fmt == "ratio":
        return fmt_ratio(value)
    if fmt == "mb":
        return fmt_mb(value)
    if fmt == "s":
        return fmt_s(value)
    return fmt_fixed(value, int(fmt))


# ---- where a metric shows --------------------------------------------------------------
@dataclass(frozen=True)
class DocColumn:
    """One column of the results doc that shows one statistic of a metric."""

    id: str  # what report.sections lays tables out by: "ttfa_p50"
    header: str  # "TTFA p50 (ms)"
    stat: str = ""  # "" for a scalar or detail metric
    fmt: Format = "ms"
    aliases: tuple[str, ...] = ()  # other header names users write for it
    sections: tuple[str, ...] = ()  # "headline" and suite names whose tables show it


@dataclass(frozen=True)
class TerminalColumn:
    """One column of the terminal table (and the step summary) that shows one statistic."""

    stat: str  # "" for a scalar or detail metric
    header: str  # "TTFA p50 ms"; the terminal wraps it before " (", " ms" and " MB"
    fmt: Format = "ms"
    # shown only when a result in the table has the metric (a suite's own number)
    optional: bool = False


@dataclass(frozen=True)
class Metric:
    name: str  # the flat name's first part: ttfa_ms in ttfa_ms.p50
    label: str  # what a person calls it: "time to first audio"
    unit: str  # "ms", "s", "MB", "LUFS", ...; "" for a ratio or a count
    better: Better
    kind: Kind
    # kind "detail": the typed detail field and its attribute ("load", "throughput");
    # a list there reads as its median over the finite values
    source: tuple[str, str] | None = None
    # kind "detail": the source's attributes holding its 95% interval (low, high); cells
    # show it after the value, and gates judge from it (an equivalence margin)
    interval: tuple[str, str] | None = None
    columns: tuple[DocColumn, ...] = ()
    terminal: tuple[TerminalColumn, ...] = ()  # its columns in the terminal table
    junit: tuple[str, ...] = ()  # stats written as JUnit properties ("" for a scalar)
    extra_info: tuple[str, ...] = ()  # stats put in pytest-benchmark's extra_info
    gateable: bool = True
    baseline: bool = False  # compared with a baseline for regressions (lower is better)
    timing: bool = False  # slowed by other work on the machine (xdist workers)
    default_stat: str = ""  # the statistic a bare name reads in a gate: "rtf" is rtf.p50
    # a typed detail field of the result (with an ``unchecked`` property): when it says
    # the check did not run, a cell shows UNCHECKED instead of n/a
    checked_by: str = ""
    aliases: tuple[tuple[str, str], ...] = ()  # old spellings users write in gate files

    @property
    def has_statistics(self) -> bool:
        return self.kind in ("series", "pooled")

    def flat(self, stat: str) -> str:
        """The flat name BenchResult.metric takes: ``ttfa_ms.p50``, or ``load_s``."""
        return f"{self.name}.{stat}" if stat else self.name
