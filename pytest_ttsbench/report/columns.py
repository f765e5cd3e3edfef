"""Every column the results doc knows: its header, the names users may write instead,
and how a result fills it. A table (the headline or a suite's section) is a list of
these ids, see :mod:`~pytest_ttsbench.report.sections`. Pure: no I/O, no pytest.

Columns are found by their header names, so users may reorder, drop or add columns;
a header no column claims is the user's own.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.report import table as tb
from pytest_ttsbench.results.keys import params_key
from pytest_ttsbench.results.model import RANDOM_WEIGHTS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

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


def _metric(name: str, fmt: Callable[[float | None], str]) -> Callable[[tb.Entry], str]:
    return lambda e: fmt(e.result.metric(name))


def _median(values: Iterable[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return statistics.median(finite) if finite else None


def _n(entry: tb.Entry) -> str:
    r = entry.result
    return f"{r.n} (contended, {r.xdist_workers} workers)" if r.xdist_workers > 0 else str(r.n)


def _load(entry: tb.Entry, name: str) -> float | None:
    load = entry.result.load
    value = None if load is None else getattr(load, name)
    return None if value is None else float(value)


def _cold(entry: tb.Entry, name: str) -> float | None:
    runs = entry.result.cold_start
    return None if runs is None else _median(getattr(runs, name))


def _cache(entry: tb.Entry, name: str) -> float | None:
    check = entry.result.cache_check
    if check is None:
        return None
    if name == "speedup":
        return check.speedup
    return _median(getattr(check, name))


def _cache_verdict(entry: tb.Entry) -> str:
    speedup = _cache(entry, "speedup")
    if speedup is None:
        return tb.NA
    if speedup > CACHE_SPEEDUP_LIMIT:
        return "caches: repeated-prompt numbers overstate speed"
    return "no caching seen"


def _fixed(digits: int) -> Callable[[float | None], str]:
    return lambda v: tb.fmt_fixed(v, digits)


COLUMNS: tuple[Column, ...] = (
    # the key: who ran what where
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
    # latency
    Column(
        "ttfa_p50",
        "TTFA p50 (ms)",
        _metric("ttfa_ms.p50", tb.fmt_ms),
        ("ttfa p50", "ttfa ms p50"),
        True,
    ),
    Column(
        "ttfa_p95",
        "TTFA p95 (ms)",
        _metric("ttfa_ms.p95", tb.fmt_ms),
        ("ttfa p95", "ttfa ms p95"),
        True,
    ),
    Column(
        "latency_p50",
        "Latency p50 (ms)",
        _metric("latency_ms.p50", tb.fmt_ms),
        ("latency p50", "e2e p50 ms"),
        True,
    ),
    Column(
        "latency_p95",
        "Latency p95 (ms)",
        _metric("latency_ms.p95", tb.fmt_ms),
        ("latency p95", "e2e p95 ms"),
        True,
    ),
    Column("latency_max", "Latency max (ms)", _metric("latency_ms.max", tb.fmt_ms), (), True),
    Column(
        "rtf_p50",
        "RTF p50 (lower is better)",
        _metric("rtf.p50", tb.fmt_ratio),
        ("rtf p50", "rtf"),
        True,
    ),
    # streaming
    Column(
        "gap_p95", "Chunk gap p95 (ms)", _metric("chunk_gap_ms.p95", tb.fmt_ms), ("gap p95",), True
    ),
    Column(
        "gap_max", "Chunk gap max (ms)", _metric("gap_max_ms.max", tb.fmt_ms), ("gap max",), True
    ),
    Column("stalls", "Stalls (max)", _metric("stalls.max", _fixed(0)), ("stalls",), True),
    Column(
        "min_prebuffer",
        "Min prebuffer (ms)",
        _metric("min_prebuffer_ms.max", tb.fmt_ms),
        ("prebuffer ms", "min prebuffer"),
        True,
    ),
    # memory
    Column(
        "peak_rss",
        "Peak RSS (MB)",
        lambda e: tb.fmt_mb(e.result.peak_rss_mb),
        ("rss mb", "peak rss"),
        True,
    ),
    Column(
        "accel_peak",
        "Accel peak (MB)",
        lambda e: tb.fmt_mb(e.result.accel_peak_mb),
        ("accel mb", "accelerator peak mb", "gpu mb"),
        True,
    ),
    Column(
        "rss_growth",
        "RSS growth (MB)",
        lambda e: tb.fmt_mb(e.result.rss_growth_mb),
        ("rss growth",),
        True,
    ),
    Column(
        "rss_slope",
        "RSS slope (MB per run)",
        lambda e: tb.fmt_fixed(e.result.rss_slope_mb, 3),
        ("rss slope",),
        True,
    ),
    Column(
        "load", "Load (s)", lambda e: tb.fmt_s(e.result.load_s), ("load s", "load time s"), True
    ),
    # concurrency
    Column(
        "throughput",
        "Throughput (audio s per s)",
        lambda e: tb.fmt_ratio(_load(e, "throughput")),
        ("throughput",),
        True,
    ),
    Column(
        "load_speedup",
        "Speedup vs 1 at a time",
        lambda e: tb.fmt_fixed(_load(e, "speedup"), 2),
        ("speedup",),
        True,
    ),
    # cold start, medians over the fresh processes
    Column(
        "spawn_audio",
        "Spawn to first audio p50 (ms)",
        lambda e: tb.fmt_ms(_cold(e, "spawn_to_first_audio_ms")),
        ("spawn to first audio",),
        True,
    ),
    Column(
        "interpreter_s",
        "Interpreter p50 (s)",
        lambda e: tb.fmt_s(_cold(e, "interpreter_s")),
        (),
        True,
    ),
    Column("import_s", "Import p50 (s)", lambda e: tb.fmt_s(_cold(e, "import_s")), (), True),
    Column(
        "fresh_load_s",
        "Load in fresh process p50 (s)",
        lambda e: tb.fmt_s(_cold(e, "load_s")),
        (),
        True,
    ),
    # audio quality
    Column("lufs", "Loudness p50 (LUFS)", _metric("lufs.p50", _fixed(1)), ("lufs",), True),
    Column(
        "true_peak",
        "True peak max (dBTP)",
        _metric("true_peak_dbtp.max", _fixed(2)),
        ("true peak",),
        True,
    ),
    Column(
        "chars_per_s",
        "Chars per s p50",
        _metric("chars_per_s.p50", _fixed(1)),
        ("chars s", "chars per s"),
        True,
    ),
    Column("audio_s", "Audio p50 (s)", _metric("audio_s.p50", tb.fmt_s), ("audio s",), True),
    # caching
    Column(
        "unique_rtf",
        "RTF unique p50",
        lambda e: tb.fmt_ratio(_cache(e, "unique_rtf")),
        (),
        True,
    ),
    Column(
        "repeated_rtf",
        "RTF repeated p50",
        lambda e: tb.fmt_ratio(_cache(e, "repeated_rtf")),
        (),
        True,
    ),
    Column(
        "cache_speedup",
        "Repeated speedup (x)",
        lambda e: tb.fmt_fixed(_cache(e, "speedup"), 2),
        (),
        True,
    ),
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
BY_ID: dict[str, Column] = {c.id: c for c in COLUMNS}
KEY_IDS = ("model", "backend", "hardware", "prompt", "mode", "params")  # may be key cells


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


_HEADER_LOOKUP: dict[str, str] = {}
for _col in COLUMNS:
    for _name in (_col.header, *_col.aliases):
        _HEADER_LOOKUP.setdefault(_fold(_name), _col.id)


def column_id(header_cell: str) -> str | None:
    """Which of our columns a header cell names (case, spaces, punctuation ignored)."""
    return _HEADER_LOOKUP.get(_fold(tb.unescape_cell(header_cell)))


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
