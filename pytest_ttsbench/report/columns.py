"""Every column the results doc knows: its header, the names users may write instead,
and how a result fills it. A table (the headline or a suite's section) is a list of
these ids, see :mod:`~pytest_ttsbench.report.sections`. The metric columns are the
registry's (:func:`pytest_ttsbench.results.metrics.doc_columns`); only the key and the
columns that are no metric are spelled here. Pure: no I/O, no pytest.

Columns are found by their header names, so users may reorder, drop or add columns;
a header no column claims is the user's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.report import table as tb
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.keys import params_key
from pytest_ttsbench.results.model import RANDOM_WEIGHTS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pytest_ttsbench.results.metrics import DocColumn, Metric
    from pytest_ttsbench.results.model import BenchResult

# Repeated prompts faster than this, over unique ones: the engine caches (the caching
# suite's own limit, tts_bench.cache_check(max_speedup=1.4)).
CACHE_SPEEDUP_LIMIT = 1.4
NO_PARAMS = "none"  # the Params cell of a result without swept knobs: a key cell is never empty


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    value: Callable[[tb.Entry], str]  # the cell's text, before escaping
    aliases: tuple[str, ...] = ()
    numeric: bool = False


def model_cell(result: BenchResult) -> str:
    """The model with its variant when that is not the default, and a label on random
    weights: ``kokoro (fp32)``, ``marvis (random weights)``."""
    target = result.target
    tags = [] if target.default_variant else [target.variant]
    if result.random_weights is not None:
        tags.append(RANDOM_WEIGHTS)
    return f"{target.model} ({', '.join(tags)})" if tags else target.model


def params_cell(params: Mapping[str, Any]) -> str:
    """Swept knobs as the comparison key spells them (1 and 1.0 are one speed)."""
    return ", ".join(f"{k}={v}" for k, v in params_key(params)) or NO_PARAMS


def _n(entry: tb.Entry) -> str:
    r = entry.result
    return f"{r.n} (contended, {r.xdist_workers} workers)" if r.xdist_workers > 0 else str(r.n)


def _cache_verdict(entry: tb.Entry) -> str:
    speedup = entry.result.metric("cache_speedup")
    if speedup is None:
        return metrics.NA
    if speedup > CACHE_SPEEDUP_LIMIT:
        return "caches: repeated-prompt numbers overstate speed"
    return "no caching seen"


# The columns that are no metric: the key (who ran what where) first, the metric columns
# of the registry (results.metrics) next, then these.
KEY_COLUMNS: tuple[Column, ...] = (
    Column("model", "Model", lambda e: model_cell(e.result)),
    Column("backend", "Backend", lambda e: e.result.target.backend),
    Column("hardware", "Hardware", lambda e: e.result.hardware, ("device", "machine")),
    Column(
        "mode",
        "Mode",
        lambda e: e.result.stream_mode,
        ("stream mode", "streaming", "streaming mode"),
    ),
    Column("prompt", "Prompt", lambda e: e.result.prompt),
    Column("params", "Params", lambda e: params_cell(e.result.params), ("parameters", "knobs")),
)
OTHER_COLUMNS: tuple[Column, ...] = (
    Column("cache_verdict", "Caching", _cache_verdict, ("cache",)),
    # where it came from
    Column("n", "n", _n, ("trials",), True),
    Column("gates", "Gates", lambda e: tb.gates_cell(e.result), ("gate", "verdict")),
    Column("date", "Date", lambda e: e.date),
    Column(
        "versions", "Versions", lambda e: tb.versions_text(e.result.versions), ("engine versions",)
    ),
    Column("plugin", "Plugin", lambda e: e.plugin_version, ("plugin version", "pytest ttsbench")),
)
KEY_IDS = ("model", "backend", "hardware", "prompt", "mode", "params")  # may be key cells


def metric_column(metric: Metric, doc: DocColumn) -> Column:
    """The doc column of one statistic of a registry metric."""
    flat = metric.flat(doc.stat)
    return Column(
        doc.id,
        doc.header,
        lambda e: e.result.shown(flat, doc.fmt),
        doc.aliases,
        numeric=True,
    )


@metrics.per_registry
def all_columns() -> tuple[Column, ...]:
    """Every column the doc knows: the key, the registry's metric columns, the rest."""
    found = tuple(metric_column(m, c) for m, c in metrics.doc_columns())
    return (*KEY_COLUMNS, *found, *OTHER_COLUMNS)


@metrics.per_registry
def _by_id() -> dict[str, Column]:
    return {c.id: c for c in all_columns()}


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


@metrics.per_registry
def _header_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for column in all_columns():
        for name in (column.header, *column.aliases):
            lookup.setdefault(_fold(name), column.id)
    return lookup


class _ById(Mapping[str, Column]):
    """Every column by id, as the registry is now."""

    def __getitem__(self, cid: str) -> Column:
        return _by_id()[cid]

    def __iter__(self) -> Iterator[str]:
        return iter(_by_id())

    def __len__(self) -> int:
        return len(_by_id())


BY_ID: Mapping[str, Column] = _ById()


def column_id(header_cell: str) -> str | None:
    """Which of our columns a header cell names (case, spaces, punctuation ignored)."""
    return _header_lookup().get(_fold(tb.unescape_cell(header_cell)))


def same_header(a: str, b: str) -> bool:
    """Whether two header cells name the same (user's) column."""
    return _fold(tb.unescape_cell(a)) == _fold(tb.unescape_cell(b))


def cells_for(entry: tb.Entry, ids: Sequence[str]) -> dict[str, str]:
    """Escaped cell text of ``entry`` for each column id; a key cell is never empty (it
    would not read back as a row, and the row would be added again on every run)."""
    cells = {cid: tb.escape_cell(BY_ID[cid].value(entry)) for cid in ids}
    for cid in KEY_IDS:
        if cid in cells:
            cells[cid] = cells[cid] or "?"
    return cells


def render_header(ids: Sequence[str | None], headers: Sequence[str] = ()) -> list[str]:
    """A header row and its separator; ``headers`` names the user's columns (id None)."""
    names = [
        BY_ID[cid].header if cid else (headers[j] if j < len(headers) else "")
        for j, cid in enumerate(ids)
    ]
    return [tb.render_row(names), render_separator(ids)]


def render_separator(ids: Sequence[str | None]) -> str:
    cells = []
    for cid in ids:
        col = BY_ID.get(cid) if cid else None
        cells.append("---:" if col is not None and col.numeric else "---")
    return "|" + "|".join(cells) + "|"
