"""Upsert of the results doc (default ``docs/BENCHMARK_RESULTS.md``).

The doc is the user's file. pytest-ttsbench owns two blocks in it, each between an
HTML-comment begin and end marker (invisible when rendered):

    <!-- ttsbench:results:begin -->   the master table, one row per model+backend+hardware
    <!-- ttsbench:history:begin -->   earlier values of updated rows, newest first

Rules, in the order they matter:

- Text outside the blocks is never changed. Inside, only the rows of keys in this run
  are rewritten, new rows are inserted in key order, and blank lines that split the
  table are removed; every other line keeps its bytes (CRLF, odd encodings included).
- Columns are found by their header names, so users may reorder, drop or add columns;
  a user's own columns keep their cells when a row is updated.
- Lines that cannot be parsed stay where they are and a warning names their numbers.
- When the markers are damaged (a begin without an end, two begins, an end first,
  something that looks like a marker but is not), the doc is not guessed at: it stays
  untouched and the rows go to a side file next to it, ``<doc>.ttsbench-pending.md``.
- Writes are atomic (temp file + rename) and locked (``<doc>.lock``): the doc is read
  again under the lock, so concurrent sessions each land their rows.

:func:`update_doc_text` is the pure core (text in, text out); :func:`upsert` does the I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench import __version__
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.atomic import DEFAULT_LOCK_TIMEOUT_S, atomic_write_bytes, locked
from pytest_ttsbench.report.plot import PlotPoint, plot_available, write_plot_points

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.model import BenchResult

RESULTS = "results"
HISTORY = "history"
DEFAULT_HISTORY = 5


def marker(block: str, edge: str) -> str:
    return f"<!-- ttsbench:{block}:{edge} -->"


_MARKER = re.compile(r"^<!--\s*ttsbench:(results|history):(begin|end)\s*-->$")
_MENTION = re.compile(r"ttsbench\s*:\s*(results|history)\s*:\s*(begin|end)", re.IGNORECASE)

NEW_DOC_HEADER = """\
# TTS benchmark results

One row per model + backend + hardware, kept up to date by
[pytest-ttsbench](https://pypi.org/project/pytest-ttsbench/): `pytest --update-results-doc`
on one machine, or `python -m pytest_ttsbench merge results-*.json` over many. The rows
between the invisible markers below are managed; text anywhere else in this file is
yours and is never changed. Cells you add in your own columns are kept.

- **Mode**: streaming mode: native (the engine streams), sentence (the harness
  streams it sentence by sentence) or none (one chunk).
- **Prompt**: the prompt preset the row was measured with (suite in parentheses when
  not the latency suite).
- **TTFA**: time to first audio, from the call to the first chunk with audio, in ms.
- **Latency**: end to end, from the call to the last chunk, in ms.
- **RTF**: latency / audio seconds. Lower is better; below 1 is faster than real time.
- **Peak RSS**: process memory peak. **Accel peak**: GPU/accelerator memory peak,
  n/a where the framework does not expose it.
- **Load**: model load time, once per session (cold).
- **n**: measured trials behind the percentiles; "contended" marks runs timed beside
  parallel pytest-xdist workers.
- **Gates**: the row's gate verdicts: fail beats inconclusive beats pass; none: no gate.
- **Date**: when it was measured (UTC). **Versions**: engine packages.
  **Plugin**: the pytest-ttsbench version.

"""

HISTORY_INTRO = (
    "Earlier values of updated rows, newest first (at most {n} per model, backend and hardware)."
)


class UnsafeDoc(ValueError):
    """The doc cannot be updated without guessing; the message says why and where."""


@dataclass(frozen=True)
class DocUpdate:
    """What :func:`update_doc_text` decided. ``text`` is None when the doc is unsafe."""

    text: str | None
    unsafe: str | None = None
    warnings: list[str] = field(default_factory=list)
    added: list[tb.Key] = field(default_factory=list)
    updated: list[tb.Key] = field(default_factory=list)
    unchanged: list[tb.Key] = field(default_factory=list)
    moved_to_history: int = 0
    pruned: int = 0
    replaced_lines: list[int] = field(default_factory=list)  # 1-based, in the input text


# ---- lines ---------------------------------------------------------------------------
def split_lines(text: str) -> list[str]:
    """Lines with their own endings kept. Only "\\n" ends a line (not str.splitlines'
    \\x0b, \\x1c, U+2028...), so a line comes back exactly as it was."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def content(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith("\n"):
        return line[:-1]
    return line


def dominant_eol(lines: Sequence[str]) -> str:
    crlf = sum(1 for line in lines if line.endswith("\r\n"))
    lf = sum(1 for line in lines if line.endswith("\n")) - crlf
    return "\r\n" if crlf > lf else "\n"


def _bare(line: str) -> str:
    return content(line).strip().lstrip("\ufeff").strip()


def _is_blank(line: str) -> bool:
    return not content(line).strip()


def _numbers(indexes: Sequence[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indexes[:12])
    more = f" and {len(indexes) - 12} more" if len(indexes) > 12 else ""
    return f"line{'s' if len(indexes) > 1 else ''} {shown}{more}"


def find_blocks(lines: Sequence[str]) -> dict[str, tuple[int, int] | None]:
    """(begin, end) line index of each managed block, None when absent.

    Raises :class:`UnsafeDoc` for anything but exactly one begin before one end."""
    found: dict[str, dict[str, list[int]]] = {
        RESULTS: {"begin": [], "end": []},
        HISTORY: {"begin": [], "end": []},
    }
    for i, line in enumerate(lines):
        bare = _bare(line)
        match = _MARKER.match(bare)
        if match:
            found[match.group(1)][match.group(2)].append(i)
        elif not bare.startswith("|") and _MENTION.search(bare):
            raise UnsafeDoc(
                f"line {i + 1} looks like a damaged ttsbench marker ({bare[:60]!r}); "
                f"a marker must be a line of its own, exactly "
                f"{marker(RESULTS, 'begin')!r}"
            )
    blocks: dict[str, tuple[int, int] | None] = {}
    for name, edges in found.items():
        begins, ends = edges["begin"], edges["end"]
        begin_m, end_m = marker(name, "begin"), marker(name, "end")
        if not begins and not ends:
            blocks[name] = None
        elif len(begins) > 1 or len(ends) > 1:
            which = begins if len(begins) > 1 else ends
            raise UnsafeDoc(
                f"{len(which)} {name} markers of one kind at {_numbers(which)}; "
                f"keep one {begin_m} and one {end_m}"
            )
        elif not ends:
            raise UnsafeDoc(f"{begin_m} at line {begins[0] + 1} has no {end_m}")
        elif not begins:
            raise UnsafeDoc(f"{end_m} at line {ends[0] + 1} has no {begin_m} before it")
        elif ends[0] < begins[0]:
            raise UnsafeDoc(
                f"{end_m} (line {ends[0] + 1}) comes before {begin_m} (line {begins[0] + 1})"
            )
        else:
            blocks[name] = (begins[0], ends[0])
    a, b = blocks[RESULTS], blocks[HISTORY]
    if a and b and not (a[1] < b[0] or b[1] < a[0]):
        raise UnsafeDoc(
            f"the results block (lines {a[0] + 1}-{a[1] + 1}) and the history "
            f"block (lines {b[0] + 1}-{b[1] + 1}) overlap"
        )
    return blocks


# ---- tables ----------------------------------------------------------------------------
@dataclass
class Row:
    index: int  # line index in the doc
    cells: list[str]  # raw (escaped) cell text
    key: tb.Key


@dataclass
class Table:
    """A Markdown table found inside a block (lines ``start``..``stop`` exclusive)."""

    header: int | None = None  # line index of the header row; None: the block has no table
    ids: list[str | None] = field(default_factory=list)  # our column id per header cell
    rows: list[Row] = field(default_factory=list)
    end: int = 0  # insertion point after the last table line
    junk: list[int] = field(default_factory=list)  # lines in the table that are no row
    blanks: list[int] = field(default_factory=list)  # blank lines inside the table
    odd_width: list[int] = field(default_factory=list)  # rows with too few/many cells
    separators: list[int] = field(default_factory=list)  # extra separator rows

    def key_indexes(self) -> tuple[int, int, int] | None:
        try:
            return (self.ids.index("model"), self.ids.index("backend"), self.ids.index("hardware"))
        except ValueError:
            return None

    @property
    def separator(self) -> int:
        if self.header is None:
            raise ValueError("no table")
        return self.header + 1


def parse_table(lines: Sequence[str], start: int, stop: int, what: str) -> Table:
    """Find the first table in ``lines[start:stop]`` and parse its rows.

    Raises :class:`UnsafeDoc` when its header lacks a key column."""
    table = Table(end=stop)
    for i in range(start, stop - 1):
        cells = tb.split_row(content(lines[i]))
        if cells and not tb.is_separator(cells):
            below = tb.split_row(content(lines[i + 1]))
            if below and tb.is_separator(below):
                table.header = i
                for cell in cells:
                    cid = tb.column_id(cell)
                    # a repeated column name is the user's: only the first is ours
                    table.ids.append(cid if cid not in table.ids else None)
                break
    if table.header is None:
        return table
    keys = table.key_indexes()
    if keys is None:
        missing = [tb.BY_ID[c].header for c in tb.KEY_COLUMNS if c not in table.ids]
        raise UnsafeDoc(
            f"the {what} table's header (line {table.header + 1}) has no "
            f"{' or '.join(missing)} column, so its rows cannot be matched"
        )
    body = range(table.separator + 1, stop)
    last = max(
        (i for i in body if tb.split_row(content(lines[i])) is not None), default=table.separator
    )
    table.end = last + 1
    piped = {
        i: tb.split_row(content(lines[i])) is not None for i in range(table.separator, table.end)
    }
    for i in range(table.separator + 1, table.end):
        line = content(lines[i])
        if not line.strip():
            # only a blank line between two rows splits the table; one before or after
            # other text inside the block (a chart link, a note) is the user's layout
            before = next(j for j in range(i - 1, table.separator - 1, -1) if lines[j].strip())
            after = next(j for j in range(i + 1, table.end) if lines[j].strip())
            if piped[before] and piped[after]:
                table.blanks.append(i)
            continue
        cells = tb.split_row(line)
        if cells is None:
            table.junk.append(i)
        elif tb.is_separator(cells):
            table.separators.append(i)
        elif max(keys) >= len(cells) or not all(tb.cell_key(cells[k]) for k in keys):
            table.junk.append(i)
        else:
            key = (
                tb.cell_key(cells[keys[0]]),
                tb.cell_key(cells[keys[1]]),
                tb.cell_key(cells[keys[2]]),
            )
            table.rows.append(Row(i, cells, key))
            if len(cells) != len(table.ids):
                table.odd_width.append(i)
    return table


def _table_warnings(table: Table, what: str) -> list[str]:
    out = []
    if table.junk:
        out.append(
            f"{_numbers(table.junk)} in the {what} table could not be parsed as rows; "
            "kept as they are"
        )
    if table.odd_width:
        out.append(
            f"{_numbers(table.odd_width)} in the {what} table have a different number "
            f"of cells than its header ({len(table.ids)}); read left to right, as "
            "Markdown does"
        )
    if table.separators:
        out.append(
            f"{_numbers(table.separators)} in the {what} table are extra separator "
            "rows; kept as they are"
        )
    if table.blanks:
        out.append(
            f"removed blank {_numbers(table.blanks)} inside the {what} table "
            "(a blank line ends a Markdown table)"
        )
    return out


def _render(ids: Sequence[str | None], values: dict[str, str], old: Sequence[str] = ()) -> str:
    """A row in the table's own column order; the user's columns keep their old cells."""
    cells = []
    for j, cid in enumerate(ids):
        if cid is not None:
            cells.append(values.get(cid, ""))
        else:
            cells.append(old[j] if j < len(old) else "")
    cells.extend(old[len(ids) :])  # cells beyond the header: the user's, kept
    return tb.render_row(cells)


class _Edits:
    def __init__(self) -> None:
        self.replace: dict[int, str] = {}
        self.insert: dict[int, list[str]] = {}
        self.delete: set[int] = set()

    def add(self, before: int, *new: str) -> None:
        self.insert.setdefault(before, []).extend(new)

    def apply(self, lines: Sequence[str], eol: str) -> str:
        out: list[str] = []
        for i in range(len(lines) + 1):
            out.extend(line + eol for line in self.insert.get(i, ()))
            if i < len(lines) and i not in self.delete:
                out.append(self.replace.get(i, lines[i]))
        # a last line without its newline gets one when something now follows it
        for i in range(len(out) - 1):
            if not out[i].endswith("\n"):
                out[i] += eol
        return "".join(out)


def _block_lines(name: str, body: Sequence[str]) -> list[str]:
    return [marker(name, "begin"), *body, marker(name, "end")]


def _history_body(rows: Sequence[str], history: int) -> list[str]:
    return ["## History", "", HISTORY_INTRO.format(n=history), "", *tb.render_header(), *rows]


def update_doc_text(
    text: str | None,
    entries: Sequence[tb.Entry],
    *,
    history: int = DEFAULT_HISTORY,
    plot_link: str | None = None,
    new_doc_header: str = NEW_DOC_HEADER,
) -> DocUpdate:
    """The doc with ``entries`` upserted (one row per key, see :func:`table.select_entries`).

    ``text`` None (or blank) means there is no doc yet: one is made with
    ``new_doc_header``. ``plot_link``: a relative image path the results block should
    link to. Never raises for a bad doc: returns ``text=None`` with the reason instead.
    """
    chosen = tb.select_entries(entries)
    new_cells = {e.key: tb.row_cells(e) for e in chosen}
    order = [e.key for e in chosen]
    if text is None or not text.strip():
        body = [tb.render_row([cells[c] for c in tb.COLUMN_IDS]) for cells in new_cells.values()]
        if plot_link:
            body += ["", _image_line(plot_link)]
        header = new_doc_header if new_doc_header.endswith("\n") else new_doc_header + "\n"
        block = "\n".join(_block_lines(RESULTS, [*tb.render_header(), *body])) + "\n"
        return DocUpdate(header + block, added=order)
    try:
        return _update(text, order, new_cells, history, plot_link)
    except UnsafeDoc as exc:
        return DocUpdate(None, unsafe=str(exc))


def _image_line(link: str) -> str:
    return f"![TTFA p50 and RTF p50 per model, backend and hardware]({link})"


def _update(
    text: str,
    order: Sequence[tb.Key],
    new_cells: dict[tb.Key, dict[str, str]],
    history: int,
    plot_link: str | None,
) -> DocUpdate:
    lines = split_lines(text)
    eol = dominant_eol(lines)
    blocks = find_blocks(lines)
    edits = _Edits()
    warnings: list[str] = []
    added: list[tb.Key] = []
    updated: list[tb.Key] = []
    unchanged: list[tb.Key] = []
    replaced: list[int] = []
    moved: list[dict[str, str]] = []  # old values of updated rows, by column id
    appended: list[str] = []  # new blocks at the end of the doc

    res = blocks[RESULTS]
    if res is None:
        body = [_render(tb.COLUMN_IDS, new_cells[k]) for k in order]
        if plot_link:
            body += ["", _image_line(plot_link)]
        appended += _block_lines(RESULTS, [*tb.render_header(), *body])
        added += order
    else:
        begin, end = res
        table = parse_table(lines, begin + 1, end, RESULTS)
        warnings += _table_warnings(table, RESULTS)
        edits.delete.update(table.blanks)
        if table.header is None:
            # the block lost its table: a fresh one goes at its end, other lines stay
            fresh = [*tb.render_header(), *(_render(tb.COLUMN_IDS, new_cells[k]) for k in order)]
            if not _is_blank(lines[end - 1]) and end - 1 != begin:
                fresh.insert(0, "")
            edits.add(end, *fresh)
            added += order
        else:
            first: dict[tb.Key, Row] = {}
            for row in table.rows:
                if row.key in first:
                    warnings.append(
                        f"line {row.index + 1} repeats the key {' | '.join(row.key)} "
                        f"of line {first[row.key].index + 1}; only the first is "
                        "updated"
                    )
                else:
                    first[row.key] = row
            for key in order:
                values = new_cells[key]
                match = first.get(key)
                if match is None:
                    at = next(
                        (r.index for r in table.rows if tb.sort_key(r.key) > tb.sort_key(key)),
                        table.end,
                    )
                    edits.add(at, _render(table.ids, values))
                    added.append(key)
                    continue
                row = match
                old = {
                    cid: row.cells[j]
                    for j, cid in enumerate(table.ids)
                    if cid is not None and j < len(row.cells)
                }
                if all(old.get(cid, "") == values[cid] for cid in table.ids if cid):
                    unchanged.append(key)
                    continue
                line = lines[row.index]
                edits.replace[row.index] = (
                    _render(table.ids, values, row.cells) + line[len(content(line)) :]
                )
                replaced.append(row.index + 1)
                updated.append(key)
                moved.append(old)
        if plot_link and not any(f"]({plot_link})" in lines[i] for i in range(begin, end)):
            pending = edits.insert.get(end)
            needs_gap = bool(pending) or not (_is_blank(lines[end - 1]) or end - 1 == begin)
            edits.add(end, *([""] if needs_gap else []), _image_line(plot_link))

    moved_count, pruned = _update_history(
        lines, blocks[HISTORY], moved, history, edits, warnings, appended
    )
    if appended:
        gap = [""] if lines and not _is_blank(lines[-1]) else []
        edits.add(len(lines), *gap, *appended)
    return DocUpdate(
        edits.apply(lines, eol),
        warnings=warnings,
        added=added,
        updated=updated,
        unchanged=unchanged,
        moved_to_history=moved_count,
        pruned=pruned,
        replaced_lines=replaced,
    )


def _update_history(
    lines: Sequence[str],
    block: tuple[int, int] | None,
    moved: Sequence[dict[str, str]],
    history: int,
    edits: _Edits,
    warnings: list[str],
    appended: list[str],
) -> tuple[int, int]:
    """Old values go on top of the history table; each key keeps ``history`` rows."""

    def key_of(values: dict[str, str]) -> tb.Key:
        return (
            tb.cell_key(values.get("model", "")),
            tb.cell_key(values.get("backend", "")),
            tb.cell_key(values.get("hardware", "")),
        )

    keep = max(history, 0)
    if block is None:
        if not moved or keep == 0:
            return 0, 0
        counts: dict[tb.Key, int] = {}
        rows = []
        for values in moved:
            k = key_of(values)
            counts[k] = counts.get(k, 0) + 1
            if counts[k] <= keep:
                rows.append(_render(tb.COLUMN_IDS, values))
        if appended:
            appended.append("")
        appended += _block_lines(HISTORY, _history_body(rows, keep))
        return len(rows), 0
    begin, end = block
    table = parse_table(lines, begin + 1, end, HISTORY)
    if table.header is None:
        if not moved or keep == 0:
            return 0, 0
        fresh = [*tb.render_header()]
        ids: Sequence[str | None] = tb.COLUMN_IDS
        at = end
        if not _is_blank(lines[end - 1]) and end - 1 != begin:
            fresh.insert(0, "")
    else:
        warnings += _table_warnings(table, HISTORY)
        edits.delete.update(table.blanks)
        fresh = []
        ids = table.ids
        at = table.separator + 1
    counts = {}
    added = 0
    for values in moved:
        k = key_of(values)
        counts[k] = counts.get(k, 0) + 1
        if counts[k] <= keep:
            fresh.append(_render(ids, values))
            added += 1
    pruned = 0
    for row in table.rows:
        counts[row.key] = counts.get(row.key, 0) + 1
        if counts[row.key] > keep:
            edits.delete.add(row.index)
            pruned += 1
    if fresh:
        edits.add(at, *fresh)
    return added, pruned


# ---- I/O -----------------------------------------------------------------------------
@dataclass(frozen=True)
class UpsertOutcome:
    doc: Path
    written: bool  # the doc's bytes changed on disk
    created: bool  # there was no doc before
    added: list[tb.Key] = field(default_factory=list)
    updated: list[tb.Key] = field(default_factory=list)
    unchanged: list[tb.Key] = field(default_factory=list)
    moved_to_history: int = 0
    warnings: list[str] = field(default_factory=list)
    side_file: Path | None = None  # where the rows went when the doc was unsafe
    reason: str | None = None  # why the doc was left untouched
    plot: Path | None = None

    @property
    def ok(self) -> bool:
        return self.side_file is None

    def describe(self) -> list[str]:
        """What happened, one line each, for a terminal or a log."""

        def keys(ks: Sequence[tb.Key]) -> str:
            return "; ".join(" | ".join(k) for k in ks)

        if self.side_file is not None:
            out = [
                f"{self.doc}: NOT updated: {self.reason}",
                f"  the new rows are in {self.side_file}",
            ]
        elif not self.written and not self.unchanged:
            out = [f"{self.doc}: no results to write; left as it was"]
        elif not self.written:
            out = [f"{self.doc}: unchanged ({len(self.unchanged)} rows already up to date)"]
        else:
            out = [f"{self.doc}: {'created' if self.created else 'updated'}"]
        if self.side_file is None:
            if self.added:
                out.append(f"  added {len(self.added)}: {keys(self.added)}")
            if self.updated:
                out.append(f"  updated {len(self.updated)}: {keys(self.updated)}")
            if self.moved_to_history:
                out.append(f"  {self.moved_to_history} previous rows moved to the history")
        if self.plot is not None:
            out.append(f"  chart: {self.plot}")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def side_file_path(doc: Path) -> Path:
    return doc.with_name(f"{doc.stem}.ttsbench-pending{doc.suffix or '.md'}")


def plot_path_for(doc: Path) -> Path:
    return doc.with_name(f"{doc.stem}.svg")


def _pending_header(doc: Path, reason: str) -> str:
    # The reason quotes markers: written as is, they would make this file look damaged
    # too, and "<!--" would hide the rest of the line when rendered.
    shown = tb.clean_text(reason).replace("<", "\\<").replace("ttsbench:", "ttsbench&#58;")
    return (
        f"# Pending benchmark results\n\n"
        f"pytest-ttsbench could not update `{doc.name}` safely and left it untouched:\n"
        f"{shown}.\n\n"
        f"Fix that file, then copy these rows into its table, or run\n"
        f"`python -m pytest_ttsbench merge RESULTS.json... --doc {doc.name}` again with "
        f"the results JSON files.\n\n"
    )


def _write_side_file(
    doc: Path, entries: Sequence[tb.Entry], reason: str, history: int, now: datetime
) -> tuple[Path, list[str]]:
    side = side_file_path(doc)
    data = side.read_bytes() if side.exists() else None
    text = None if data is None else data.decode("utf-8", "surrogateescape")
    update = update_doc_text(
        text, entries, history=history, new_doc_header=_pending_header(doc, reason)
    )
    if update.text is None:
        # the side file is damaged too: a fresh one, never overwriting either
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        side = side.with_name(f"{doc.stem}.ttsbench-pending-{stamp}{doc.suffix or '.md'}")
        update = update_doc_text(
            None, entries, history=history, new_doc_header=_pending_header(doc, reason)
        )
    if update.text is None:  # pragma: no cover - a new doc is always safe
        raise RuntimeError("could not render the pending rows")
    atomic_write_bytes(side, update.text.encode("utf-8", "surrogateescape"))
    return side, update.warnings


def plot_points(text: str) -> list[PlotPoint]:
    """The chart's data: the results table of a doc, as rendered (all keys, not only
    this run's)."""
    lines = split_lines(text)
    try:
        block = find_blocks(lines)[RESULTS]
        if block is None:
            return []
        table = parse_table(lines, block[0] + 1, block[1], RESULTS)
    except UnsafeDoc:
        return []
    points = []
    seen: set[tb.Key] = set()
    for row in table.rows:
        if row.key in seen:
            continue
        seen.add(row.key)
        cells = {
            cid: row.cells[j]
            for j, cid in enumerate(table.ids)
            if cid is not None and j < len(row.cells)
        }
        points.append(
            PlotPoint(
                " · ".join(row.key),
                tb.parse_float(cells.get("ttfa_p50", "")),
                tb.parse_float(cells.get("rtf_p50", "")),
            )
        )
    return points


def entries_for(
    results: Sequence[BenchResult],
    *,
    now: datetime | None = None,
    plugin_version: str = __version__,
) -> list[tb.Entry]:
    now = now or datetime.now(UTC)
    date = now.astimezone(UTC).date().isoformat()
    created = now.astimezone(UTC).isoformat(timespec="seconds")
    return [tb.Entry(r, date, plugin_version, created) for r in results]


def upsert(
    doc_path: Path,
    results: Sequence[BenchResult],
    *,
    history: int = DEFAULT_HISTORY,
    now: datetime | None = None,
    plugin_version: str = __version__,
    plot: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
) -> UpsertOutcome:
    """Upsert ``results`` into the doc at ``doc_path`` (created when missing).

    ``now`` dates the rows (UTC); ``plot``: also write ``<doc stem>.svg`` and link it
    (a warning, no error, without matplotlib). Raises OSError when the file system
    refuses the write (the old doc is then intact) and ``filelock.Timeout`` when
    another session holds the lock longer than ``lock_timeout`` seconds.
    """
    return upsert_entries(
        doc_path,
        entries_for(results, now=now, plugin_version=plugin_version),
        history=history,
        plot=plot,
        lock_timeout=lock_timeout,
        now=now,
    )


def upsert_entries(
    doc_path: Path,
    entries: Sequence[tb.Entry],
    *,
    history: int = DEFAULT_HISTORY,
    plot: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
    now: datetime | None = None,
) -> UpsertOutcome:
    """:func:`upsert` for entries that carry their own date and plugin version (merge)."""
    doc = Path(doc_path)
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    if not entries:  # nothing measured: never create an empty doc or touch an existing one
        return UpsertOutcome(doc, written=False, created=False)
    with locked(doc, lock_timeout):
        # read under the lock: another session may have written since we started
        data = doc.read_bytes() if doc.exists() else None
        text = None if data is None else data.decode("utf-8", "surrogateescape")
        svg: Path | None = None
        if plot and plot_available():
            svg = plot_path_for(doc)
        elif plot:
            warnings.append(
                "no chart: matplotlib is not installed (pip install 'pytest-ttsbench[plot]')"
            )
        update = update_doc_text(
            text, entries, history=history, plot_link=svg.name if svg else None
        )
        if update.text is None:
            reason = update.unsafe or "unknown"
            side, side_warnings = _write_side_file(doc, entries, reason, history, now)
            return UpsertOutcome(
                doc,
                written=False,
                created=False,
                side_file=side,
                reason=reason,
                warnings=warnings + [f"{side}: {w}" for w in side_warnings],
            )
        new_text = update.text
        if svg is not None and write_plot_points(plot_points(new_text), svg) is None:
            warnings.append("no chart: no row has a TTFA or RTF value")
            svg = None
            update = update_doc_text(text, entries, history=history)
            new_text = update.text or new_text  # the same doc stays safe without the link
        new = new_text.encode("utf-8", "surrogateescape")
        if new != data:
            atomic_write_bytes(doc, new)
    return UpsertOutcome(
        doc,
        written=new != data,
        created=data is None,
        added=update.added,
        updated=update.updated,
        unchanged=update.unchanged,
        moved_to_history=update.moved_to_history,
        warnings=warnings + [f"{doc}: {w}" for w in update.warnings],
        plot=svg,
    )
