"""Building blocks of a doc update: what an update decided (:class:`DocUpdate`), the doc
being edited (:class:`Draft`: line edits that keep every other line's bytes, and new
blocks where they go), rendering rows in a table's own column order, and the failure
notes under a table. Pure: no I/O.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.doc_parse import (
    Table,
    dominant_eol,
    find_blocks,
    is_blank,
    marker,
    parse_table,
    split_lines,
)
from pytest_ttsbench.report.sections import (
    HISTORY,
    HISTORY_BLOCK,
    RESULTS,
    SUITE_BLOCK,
    Section,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

HISTORY_INTRO = (
    "Earlier values of updated rows, newest first (at most {n} per model, backend and hardware)."
)
SECTION_HISTORY_INTRO = "Earlier values of updated rows, newest first (at most {n} per row key)."

RowId = tuple[str, tb.Key]  # (section label, key)


@dataclass
class DocUpdate:
    """What :func:`~pytest_ttsbench.report.doc_update.update_doc_text` decided, noted as
    it goes (the migration of an old doc first). ``text`` is None when the doc is unsafe."""

    text: str | None
    unsafe: str | None = None
    warnings: list[str] = field(default_factory=list)
    added: list[RowId] = field(default_factory=list)
    updated: list[RowId] = field(default_factory=list)
    unchanged: list[RowId] = field(default_factory=list)
    kept: list[RowId] = field(default_factory=list)  # failed runs beside a good row
    moved_to_history: int = 0
    pruned: int = 0
    replaced_lines: list[int] = field(default_factory=list)  # 1-based, in the input text
    removed_notes: list[int] = field(default_factory=list)  # 1-based: stale failure notes
    migrated_lines: list[int] = field(default_factory=list)  # 1-based: rows moved to sections


# ---- edits ---------------------------------------------------------------------------------
@dataclass
class Edits:
    """Line edits on a doc: replaced, deleted and inserted lines (without endings)."""

    replace: dict[int, str] = field(default_factory=dict)
    insert: dict[int, list[str]] = field(default_factory=dict)
    delete: set[int] = field(default_factory=set)

    def add(self, before: int, *new: str) -> None:
        self.insert.setdefault(before, []).extend(new)

    def apply(self, lines: Sequence[str], eol: str) -> tuple[str, list[int | None]]:
        """The new text, and for each of its lines the input line it came from (None:
        a line this update made)."""
        out: list[str] = []
        origin: list[int | None] = []
        for i in range(len(lines) + 1):
            for line in self.insert.get(i, ()):
                out.append(line + eol)
                origin.append(None)
            if i < len(lines) and i not in self.delete:
                out.append(self.replace.get(i, lines[i]))
                origin.append(None if i in self.replace else i)
        # a last line without its newline gets one when something now follows it
        for i in range(len(out) - 1):
            if not out[i].endswith("\n"):
                out[i] += eol
        return "".join(out), origin


# ---- the doc being edited ------------------------------------------------------------------
@dataclass
class Draft:
    """A doc being edited: its lines and managed blocks as read, the line edits on them,
    and the new blocks by the line they go before (each with its place among the others
    there: table before history, then the section's order)."""

    lines: list[str]
    blocks: dict[str, tuple[int, int]]
    edits: Edits = field(default_factory=Edits)
    new_blocks: dict[int, list[tuple[tuple[int, int, str], list[str]]]] = field(
        default_factory=dict
    )

    @classmethod
    def read(cls, text: str) -> Draft:
        """Raises :class:`~pytest_ttsbench.report.doc_parse.UnsafeDoc` for damaged markers."""
        lines = split_lines(text)
        return cls(lines, find_blocks(lines))

    def table(self, name: str, what: str, key: Sequence[str]) -> Table | None:
        """The table in block ``name`` (see :func:`parse_table`); None: no such block."""
        span = self.blocks.get(name)
        return None if span is None else parse_table(self.lines, span[0] + 1, span[1], what, key)

    def append_table(self, name: str, table: Sequence[str]) -> None:
        """A fresh table at the end of block ``name``, which lost its own; the block's
        other lines stay, and text before it is kept apart by a blank line."""
        begin, end = self.blocks[name]
        self.edits.add(end, *([""] if ends_with_text(self.lines, begin, end) else []), *table)

    def new_block(self, section: Section, history: bool, body: Sequence[str]) -> None:
        """The section's table block (or its history block) with ``body``, new."""
        name = section.history_block if history else section.block
        at = anchor(name, self.blocks, len(self.lines))
        order = (int(history), *section.order)
        self.new_blocks.setdefault(at, []).append((order, block_lines(name, body)))

    def text(self) -> tuple[str, list[int | None]]:
        """The edited text, and for each of its lines the input line it came from (None:
        a line this update made). New blocks go after other lines inserted at their place,
        each apart from its neighbours by a blank line."""
        for at, groups in self.new_blocks.items():
            new: list[str] = []
            if at > 0 and not is_blank(self.lines[at - 1]):
                new.append("")
            for k, (_, group) in enumerate(sorted(groups, key=lambda g: g[0])):
                new.extend(["", *group] if k else group)
            if at < len(self.lines) and not is_blank(self.lines[at]):
                new.append("")
            self.edits.add(at, *new)
        self.new_blocks.clear()
        return self.edits.apply(self.lines, dominant_eol(self.lines))


# ---- rows ----------------------------------------------------------------------------------
def render(ids: Sequence[str | None], values: Mapping[str, str], old: Sequence[str] = ()) -> str:
    """A row in the table's own column order; the user's columns keep their old cells."""
    cells = []
    for j, cid in enumerate(ids):
        if cid is not None:
            cells.append(values.get(cid, ""))
        else:
            cells.append(old[j] if j < len(old) else "")
    cells.extend(old[len(ids) :])  # cells beyond the header: the user's, kept
    return tb.render_row(cells)


def ends_with_text(lines: Sequence[str], begin: int, end: int) -> bool:
    """Whether the block's last line before its end marker is text (a gap goes after)."""
    return end - 1 != begin and not is_blank(lines[end - 1])


# ---- new blocks ---------------------------------------------------------------------------
def block_lines(name: str, body: Sequence[str]) -> list[str]:
    return [marker(name, "begin"), *body, marker(name, "end")]


def image_line(link: str) -> str:
    return f"![TTFA p50 and RTF p50 per model, backend and hardware]({link})"


def section_body(section: Section, rows: Sequence[str], header: Sequence[str]) -> list[str]:
    """A section block's body: its heading, what its columns say, its table."""
    if section.headline:
        return [*header, *rows]
    return [f"## {section.title}", "", *textwrap.wrap(section.intro, 88), "", *header, *rows]


def history_body(
    section: Section, rows: Sequence[str], keep: int, header: Sequence[str] = ()
) -> list[str]:
    header = header or col.render_header(section.columns)
    if section.headline:
        return ["## History", "", HISTORY_INTRO.format(n=keep), "", *header, *rows]
    title = f"### History: {section.title}"
    return [title, "", SECTION_HISTORY_INTRO.format(n=keep), "", *header, *rows]


def _is_history_block(name: str) -> bool:
    return name == HISTORY or name.startswith(HISTORY_BLOCK)


def anchor(name: str, blocks: Mapping[str, tuple[int, int]], n_lines: int) -> int:
    """The line index a new block ``name`` is inserted before: the headline before every
    other block; a section after the last section (else before the histories); a
    history after the last history. Anywhere else: the end of the doc, so the user's
    text keeps its place (a note under the headline stays under it)."""
    spans = sorted(blocks.items(), key=lambda item: item[1])
    tables = [span for n, span in spans if n.startswith(SUITE_BLOCK)]
    histories = [span for n, span in spans if _is_history_block(n)]
    if name == RESULTS:
        return spans[0][1][0] if spans else n_lines
    if name.startswith(SUITE_BLOCK):
        if tables:
            return max(end for _, end in tables) + 1
        return histories[0][0] if histories else n_lines
    if name == HISTORY and histories:
        return histories[0][0]
    return max(end for _, end in histories) + 1 if histories else n_lines


# ---- failure notes --------------------------------------------------------------------------
_NOTE_START = "- **"
_NOTE_MID = "**, last run "


def note_prefix(key: tb.Key) -> str:
    """How a failure note about the row of ``key`` begins."""
    return _NOTE_START + " · ".join(tb.escape_cell(part) for part in key) + _NOTE_MID


def note_line(key: tb.Key, entry: tb.Entry) -> str:
    """A failed run's note under a table whose row for ``key`` keeps its good numbers."""
    said = tb.escape_cell(tb.gates_cell(entry.result))
    return (
        f"{note_prefix(key)}{entry.date}: {said} (n={entry.result.n}); "
        "the row keeps the last good run."
    )


def is_note(line: str) -> bool:
    return line.startswith(_NOTE_START) and _NOTE_MID in line
