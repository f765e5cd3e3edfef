"""The results doc's table, as data: its columns, how a result becomes a row, how
cells are escaped, and how a (possibly hand-edited) Markdown row is parsed back.
Pure: no I/O, no pytest.

One row per Model + Backend + Hardware. When a run has several results for one key
(several prompts, suites or streaming modes), the row shows the one ranked first by
:func:`select_entries`: a result with measured trials, from the ``latency`` suite,
with the ``medium`` prompt, from the newest session; ties keep the first given.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.verdict import Verdict

Key = tuple[str, str, str]  # model (with variant), backend, hardware: normalized text


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    aliases: tuple[str, ...] = ()
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("model", "Model"),
    Column("backend", "Backend"),
    Column("hardware", "Hardware", ("device", "machine")),
    Column("mode", "Mode", ("stream mode", "streaming", "streaming mode")),
    Column("prompt", "Prompt"),
    Column("ttfa_p50", "TTFA p50 (ms)", ("ttfa p50", "ttfa ms p50"), numeric=True),
    Column("ttfa_p95", "TTFA p95 (ms)", ("ttfa p95", "ttfa ms p95"), numeric=True),
    Column("latency_p50", "Latency p50 (ms)", ("latency p50", "e2e p50 ms"), numeric=True),
    Column("rtf_p50", "RTF p50 (lower is better)", ("rtf p50", "rtf"), numeric=True),
    Column("peak_rss", "Peak RSS (MB)", ("rss mb", "peak rss"), numeric=True),
    Column(
        "accel_peak", "Accel peak (MB)", ("accel mb", "accelerator peak mb", "gpu mb"), numeric=True
    ),
    Column("load", "Load (s)", ("load s", "load time s"), numeric=True),
    Column("n", "n", ("trials",), numeric=True),
    Column("gates", "Gates", ("gate", "verdict")),
    Column("date", "Date"),
    Column("versions", "Versions", ("engine versions",)),
    Column("plugin", "Plugin", ("plugin version", "pytest ttsbench")),
)
KEY_COLUMNS = ("model", "backend", "hardware")
COLUMN_IDS = tuple(c.id for c in COLUMNS)
BY_ID: dict[str, Column] = {c.id: c for c in COLUMNS}


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


_HEADER_LOOKUP: dict[str, str] = {}
for _col in COLUMNS:
    for _name in (_col.header, *_col.aliases):
        _HEADER_LOOKUP.setdefault(_fold(_name), _col.id)


def column_id(header_cell: str) -> str | None:
    """Which of our columns a header cell names (case, spaces, punctuation ignored)."""
    return _HEADER_LOOKUP.get(_fold(unescape_cell(header_cell)))


# ---- cells ---------------------------------------------------------------------------
_ESCAPED = str.maketrans({"\\": "\\\\", "|": "\\|", "`": "\\`", "<": "\\<"})
_MD_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def clean_text(value: object) -> str:
    """User text made safe for one table cell: line breaks and control characters become
    spaces, lone surrogates become U+FFFD, ends are stripped."""
    out = []
    for ch in str(value):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\ufffd")
        elif ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            # Cf includes the BOM and bidi overrides, which would garble the table
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out).strip()


def escape_cell(value: object) -> str:
    """A cell that cannot break the table: pipes, backslashes, backticks (code spans
    that could swallow a pipe) and ``<`` (HTML, our own markers) are escaped."""
    return clean_text(value).translate(_ESCAPED)


def unescape_cell(raw: str) -> str:
    """Markdown backslash escapes removed, as a renderer would show the cell."""
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _MD_PUNCT:
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def norm(text: str) -> str:
    """What two cells must share to name the same thing: whitespace runs collapse."""
    return " ".join(text.split())


def cell_key(raw: str) -> str:
    return norm(unescape_cell(raw))


def split_row(line: str) -> list[str] | None:
    """The raw cells of a Markdown table row (escapes kept), or None when the line has
    no unescaped pipe. A leading and a trailing pipe are optional, as in GFM."""
    text = line.rstrip("\r\n").strip()
    cells: list[str] = []
    current: list[str] = []
    pipes = 0
    ends_with_pipe = False
    i = 0
    while i < len(text):
        ch = text[i]
        ends_with_pipe = ch == "|"
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == "|":
            pipes += 1
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if pipes == 0:
        return None
    if not ends_with_pipe:
        cells.append("".join(current))
    if text.startswith("|"):
        cells = cells[1:]
    return [c.strip() for c in cells]


_SEPARATOR_CELL = re.compile(r"^:?-+:?$")


def is_separator(cells: Sequence[str]) -> bool:
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells)


def render_row(cells: Sequence[str]) -> str:
    """One row from already escaped cells, without line ending."""
    return "| " + " | ".join(cells) + " |"


def render_separator(column_ids: Sequence[str | None]) -> str:
    cells = []
    for cid in column_ids:
        col = BY_ID.get(cid) if cid else None
        cells.append("---:" if col is not None and col.numeric else "---")
    return "|" + "|".join(cells) + "|"


def render_header() -> list[str]:
    return [render_row([c.header for c in COLUMNS]), render_separator(COLUMN_IDS)]


# ---- values ----------------------------------------------------------------------------
NA = "n/a"


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


GATE_OUTCOMES = ("pass", "fail", "inconclusive")


def gate_verdict(gates: Sequence[Verdict]) -> str:
    """One word for all of a result's gate verdicts: fail beats inconclusive beats pass;
    no gate at all is "none"."""
    if not gates:
        return "none"
    outcomes = [g.outcome for g in gates]
    for word in ("fail", "inconclusive"):
        count = outcomes.count(word)
        if count:
            return f"{word} ({count}/{len(outcomes)})"
    if all(o == "pass" for o in outcomes):
        return f"pass ({len(outcomes)}/{len(outcomes)})"
    return f"unknown ({len(outcomes)})"


def versions_text(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))


def _key_part(value: str) -> str:
    # an empty key cell would not read back as a row, and the row would be added again
    # on every run
    return norm(clean_text(value)) or "?"


def result_key(result: BenchResult) -> Key:
    model, backend, hardware, _prompt = result.key
    return (_key_part(model), _key_part(backend), _key_part(hardware))


def sort_key(key: Key) -> tuple[str, ...]:
    return tuple(part.casefold() for part in key) + key


@dataclass(frozen=True)
class Entry:
    """A result bound for the doc, with what the doc says about where it came from."""

    result: BenchResult
    date: str  # YYYY-MM-DD the result was measured
    plugin_version: str
    created: str = ""  # the session's ISO time: the newest session wins a tie

    @property
    def key(self) -> Key:
        return result_key(self.result)


def row_cells(entry: Entry) -> dict[str, str]:
    """Escaped cell text for every column of :data:`COLUMNS`."""
    r = entry.result
    model, backend, hardware, prompt = r.key
    if r.suite and r.suite != "latency":
        prompt = f"{prompt} ({r.suite})"
    n = str(r.n)
    if r.xdist_workers > 0:
        n += f" (contended, {r.xdist_workers} workers)"
    values = {
        "model": model,
        "backend": backend,
        "hardware": hardware,
        "mode": r.stream_mode,
        "prompt": prompt,
        "ttfa_p50": fmt_ms(r.metric("ttfa_ms.p50")),
        "ttfa_p95": fmt_ms(r.metric("ttfa_ms.p95")),
        "latency_p50": fmt_ms(r.metric("latency_ms.p50")),
        "rtf_p50": fmt_ratio(r.metric("rtf.p50")),
        "peak_rss": fmt_mb(r.peak_rss_mb),
        "accel_peak": fmt_mb(r.accel_peak_mb),
        "load": fmt_s(r.load_s),
        "n": n,
        "gates": gate_verdict(r.gates),
        "date": entry.date,
        "versions": versions_text(r.versions),
        "plugin": entry.plugin_version,
    }
    cells = {cid: escape_cell(values[cid]) for cid in COLUMN_IDS}
    for cid in KEY_COLUMNS:
        cells[cid] = cells[cid] or "?"
    return cells


def select_entries(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per key (see the module doc for the rule), sorted by key."""
    # Two stable sorts: newest session first, then the preference; ties keep input order.
    ordered = sorted(entries, key=lambda e: e.created, reverse=True)
    ordered.sort(
        key=lambda e: (e.result.n == 0, e.result.suite != "latency", e.result.prompt != "medium")
    )
    best: dict[Key, Entry] = {}
    for entry in ordered:
        best.setdefault(entry.key, entry)
    return [best[k] for k in sorted(best, key=sort_key)]


def parse_float(raw: str) -> float | None:
    """The number at the start of a cell ("12.5", "3 (contended)"), or None."""
    match = re.match(r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", unescape_cell(raw))
    return float(match.group(1)) if match else None
