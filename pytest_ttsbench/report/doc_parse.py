"""Reading a results doc as it stands: its lines (each with its own ending), the managed
blocks between their HTML-comment markers, and the Markdown table inside a block, its
rows matched by the key columns of the block's section.

    <!-- ttsbench:results:begin -->            the headline table
    <!-- ttsbench:suite.streaming:begin -->    a suite's section (one per suite)
    <!-- ttsbench:history:begin -->            earlier values of updated headline rows
    <!-- ttsbench:history.streaming:begin -->  ... and of a section's rows

Nothing here changes a line. Lines of a table that are no row are noted (with their
numbers, for a warning) and left where they are; markers that would need guessing
(a begin without an end, two begins, an end first, something that looks like a marker
but is not, overlapping blocks) raise :class:`UnsafeDoc`. Pure: no I/O.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.sections import HISTORY as HISTORY  # re-exported: block names
from pytest_ttsbench.report.sections import RESULTS as RESULTS

if TYPE_CHECKING:
    from collections.abc import Sequence


def marker(block: str, edge: str) -> str:
    return f"<!-- ttsbench:{block}:{edge} -->"


_NAME = r"results|history|(?:suite|history)\.[a-z0-9_-]+"
_MARKER = re.compile(rf"^<!--\s*ttsbench:({_NAME}):(begin|end)\s*-->$")
_MENTION = re.compile(
    r"ttsbench\s*:\s*(results|history|suite)[^:|]{0,40}:\s*(begin|end)", re.IGNORECASE
)


class UnsafeDoc(ValueError):
    """The doc cannot be updated without guessing; the message says why and where."""


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


def is_blank(line: str) -> bool:
    return not content(line).strip()


def _numbers(indexes: Sequence[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indexes[:12])
    more = f" and {len(indexes) - 12} more" if len(indexes) > 12 else ""
    return f"line{'s' if len(indexes) > 1 else ''} {shown}{more}"


# ---- blocks --------------------------------------------------------------------------
def find_blocks(lines: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(begin, end) line index of each managed block present, by block name.

    Raises :class:`UnsafeDoc` for anything but exactly one begin before one end, and
    for blocks that overlap."""
    found: dict[str, dict[str, list[int]]] = {}
    for i, line in enumerate(lines):
        bare = _bare(line)
        match = _MARKER.match(bare)
        if match:
            edges = found.setdefault(match.group(1), {"begin": [], "end": []})
            edges[match.group(2)].append(i)
        elif not bare.startswith("|") and _MENTION.search(bare):
            raise UnsafeDoc(
                f"line {i + 1} looks like a damaged ttsbench marker ({bare[:60]!r}); "
                f"a marker must be a line of its own, exactly "
                f"{marker(RESULTS, 'begin')!r}"
            )
    blocks: dict[str, tuple[int, int]] = {}
    for name, edges in found.items():
        begins, ends = edges["begin"], edges["end"]
        begin_m, end_m = marker(name, "begin"), marker(name, "end")
        if len(begins) > 1 or len(ends) > 1:
            which = begins if len(begins) > 1 else ends
            raise UnsafeDoc(
                f"{len(which)} {name} markers of one kind at {_numbers(which)}; "
                f"keep one {begin_m} and one {end_m}"
            )
        if not ends:
            raise UnsafeDoc(f"{begin_m} at line {begins[0] + 1} has no {end_m}")
        if not begins:
            raise UnsafeDoc(f"{end_m} at line {ends[0] + 1} has no {begin_m} before it")
        if ends[0] < begins[0]:
            raise UnsafeDoc(
                f"{end_m} (line {ends[0] + 1}) comes before {begin_m} (line {begins[0] + 1})"
            )
        blocks[name] = (begins[0], ends[0])
    spans = sorted(blocks.items(), key=lambda item: item[1])
    for (a_name, a), (b_name, b) in itertools.pairwise(spans):
        if b[0] < a[1]:
            raise UnsafeDoc(
                f"the {a_name} block (lines {a[0] + 1}-{a[1] + 1}) and the {b_name} "
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
    names: list[str] = field(default_factory=list)  # the raw header cells
    key: tuple[str, ...] = ()  # the column ids rows are matched on
    rows: list[Row] = field(default_factory=list)
    end: int = 0  # insertion point after the last table line
    junk: list[int] = field(default_factory=list)  # lines in the table that are no row
    blanks: list[int] = field(default_factory=list)  # blank lines inside the table
    odd_width: list[int] = field(default_factory=list)  # rows with too few/many cells
    separators: list[int] = field(default_factory=list)  # extra separator rows

    def key_indexes(self) -> list[int] | None:
        try:
            return [self.ids.index(cid) for cid in self.key]
        except ValueError:
            return None

    @property
    def separator(self) -> int:
        if self.header is None:
            raise ValueError("no table")
        return self.header + 1

    def values(self, row: Row) -> dict[str, str]:
        """The row's raw cells by our column id (the user's columns left out)."""
        return {
            cid: row.cells[j]
            for j, cid in enumerate(self.ids)
            if cid is not None and j < len(row.cells)
        }

    def user_cells(self, row: Row) -> list[tuple[str, str]]:
        """The row's non-empty cells in the user's own columns (and beyond the header),
        with their header names ("" beyond the header)."""
        out = []
        for j, cell in enumerate(row.cells):
            if cell.strip() and (j >= len(self.ids) or self.ids[j] is None):
                out.append((self.names[j] if j < len(self.names) else "", cell))
        return out

    def insert_at(self, key: tb.Key) -> int:
        """Where a new row of ``key`` goes: before the first row of a later key, else
        after the table."""
        later = (r.index for r in self.rows if tb.sort_key(r.key) > tb.sort_key(key))
        return next(later, self.end)


def parse_table(
    lines: Sequence[str], start: int, stop: int, what: str, key: Sequence[str]
) -> Table:
    """Find the first table in ``lines[start:stop]`` and parse its rows, matched on the
    ``key`` column ids.

    Raises :class:`UnsafeDoc` when its header lacks a key column."""
    table = Table(end=stop, key=tuple(key))
    for i in range(start, stop - 1):
        cells = tb.split_row(content(lines[i]))
        if cells and not tb.is_separator(cells):
            below = tb.split_row(content(lines[i + 1]))
            if below and tb.is_separator(below):
                table.header = i
                table.names = list(cells)
                for cell in cells:
                    cid = col.column_id(cell)
                    # a repeated column name is the user's: only the first is ours
                    table.ids.append(cid if cid not in table.ids else None)
                break
    if table.header is None:
        return table
    keys = table.key_indexes()
    if keys is None:
        missing = [col.BY_ID[c].header for c in table.key if c not in table.ids]
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
            table.rows.append(Row(i, cells, tuple(tb.cell_key(cells[k]) for k in keys)))
            if len(cells) != len(table.ids):
                table.odd_width.append(i)
    return table


def table_warnings(table: Table, what: str) -> list[str]:
    """What :func:`parse_table` found and left alone (or removed), one line each."""
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
