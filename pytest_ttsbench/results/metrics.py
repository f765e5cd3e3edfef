"""The metric registry: every metric the plugin measures, declared once.

An entry says what a metric is (name, unit, which direction is better, label), where
its value comes from (a per-trial series, the pooled chunk gaps, one number per result,
or a field of a benchmark shape's typed detail), which statistics it reports, and where
it shows: the doc's columns (and in which suite sections), the terminal table, JUnit
properties, pytest-benchmark's extra_info, the gates and the baseline comparison. Every
one of those outputs reads this registry; adding a metric is adding an entry to
:mod:`~pytest_ttsbench.results.metric_entries`. What an entry is (Metric, DocColumn,
TerminalColumn) and the number formats are in :mod:`~pytest_ttsbench.results.metric_types`,
re-exported here. Pure data and formatting: no pytest, no numpy, nothing from the rest
of the package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Literal, TypeVar

from pytest_ttsbench.results.metric_entries import ENTRIES
from pytest_ttsbench.results.metric_types import (
    NA,
    STATISTICS,
    TTFA_MS,
    UNCHECKED,
    Better,
    DocColumn,
    Format,
    Kind,
    Metric,
    TerminalColumn,
    fmt_fixed,
    fmt_mb,
    fmt_ms,
    fmt_ratio,
    fmt_s,
    format_value,
)

__all__ = [
    "BY_NAME",
    "NA",
    "REGISTRY",
    "STATISTICS",
    "TTFA_MS",
    "UNCHECKED",
    "Better",
    "DocColumn",
    "Format",
    "Kind",
    "Metric",
    "TerminalColumn",
    "aliases",
    "doc_columns",
    "flat_names",
    "fmt_fixed",
    "fmt_mb",
    "fmt_ms",
    "fmt_ratio",
    "fmt_s",
    "format_value",
    "get",
    "names",
    "per_registry",
    "resolve",
    "terminal_columns",
    "unit",
]

REGISTRY: tuple[Metric, ...] = ENTRIES  # in the order the outputs list them

# ---- reading the registry ---------------------------------------------------------------
# Everything below reads REGISTRY when called, never at import, so a test that replaces
# REGISTRY (monkeypatch.setattr(metrics, "REGISTRY", (*metrics.REGISTRY, new))) sees its
# entry in every output. What is derived from it is built once per registry.
T = TypeVar("T")


def per_registry(build: Callable[[], T]) -> Callable[[], T]:
    """``build()`` once per registry: built again when REGISTRY has been replaced."""
    cache: list[tuple[tuple[Metric, ...], T]] = []

    def get() -> T:
        if not cache or cache[0][0] is not REGISTRY:
            cache[:] = [(REGISTRY, build())]
        return cache[0][1]

    return get


@per_registry
def _by_name() -> dict[str, Metric]:
    return {m.name: m for m in REGISTRY}


@per_registry
def _aliases() -> dict[str, str]:
    found = {m.name: m.flat(m.default_stat) for m in REGISTRY if m.default_stat}
    return found | {old: m.flat(stat) for m in REGISTRY for old, stat in m.aliases}


class _ByName(Mapping[str, Metric]):
    """The registry by metric name, as REGISTRY is now."""

    def __getitem__(self, name: str) -> Metric:
        return _by_name()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_by_name())

    def __len__(self) -> int:
        return len(_by_name())


BY_NAME: Mapping[str, Metric] = _ByName()


def get(name: str) -> Metric | None:
    """The metric of that name (a flat name's first part), or None."""
    return _by_name().get(name)


def names(*kinds: Kind) -> tuple[str, ...]:
    """Metric names of the given kinds (all kinds when none given), in registry order."""
    return tuple(m.name for m in REGISTRY if not kinds or m.kind in kinds)


def aliases() -> Mapping[str, str]:
    """Old spellings users write in gate files (and a bare name with a default
    statistic) -> flat names."""
    return _aliases()


def resolve(name: str) -> str:
    """A flat name as users may write it -> the flat name BenchResult.metric takes."""
    return _aliases().get(name, name)


def flat_names(where: Literal["junit", "extra_info"]) -> tuple[str, ...]:
    """The flat names an output shows, in registry order."""
    return tuple(m.flat(stat) for m in REGISTRY for stat in getattr(m, where))


def terminal_columns() -> tuple[tuple[Metric, TerminalColumn], ...]:
    """Every metric column of the terminal table, in order."""
    return tuple((m, c) for m in REGISTRY for c in m.terminal)


def doc_columns() -> tuple[tuple[Metric, DocColumn], ...]:
    """Every metric column of the results doc, in registry order."""
    return tuple((m, c) for m in REGISTRY for c in m.columns)


def unit(name: str) -> str:
    """The unit of a metric (flat names and aliases too); "" when it has none."""
    metric = get(resolve(name).partition(".")[0])
    return "" if metric is None else metric.unit
