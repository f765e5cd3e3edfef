"""Upgrading a doc written before the suite sections: one table held a row per model +
backend + hardware from whichever suite ran, its Prompt cell saying ``short
(concurrency)`` and its Model cell ``kokoro (concurrency=2)``. Such rows (and their
history rows) move to their suite's section, with the section's columns; rows of the
latency suite on the headline prompt stay. Pure: text in, text out.

Nothing a user wrote is dropped: text outside the blocks and lines that are no row stay
where they are; a moved row's cells in the user's own columns go to a column of the
same name in the section (a new section gets those columns), and a row whose cells find
no such column stays where it is, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc_blocks as blk
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.sections import (
    HEADLINE_KEY,
    HEADLINE_PROMPT,
    HISTORY,
    RESULTS,
    key_of,
    legacy_home,
    suite_section,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.report.doc_parse import Table
    from pytest_ttsbench.report.sections import Section


@dataclass(frozen=True)
class _Moved:
    index: int  # the row's line in the input
    values: dict[str, str]  # raw cells by our column id, the section's key cells set
    user: list[tuple[str, str]]  # (header name, raw cell) of the user's own columns
    key: tb.Key


def _placed(table: Table, user: Sequence[tuple[str, str]]) -> dict[int, str] | None:
    """Where a moved row's own cells go in an existing table; None: one has no column."""
    placed: dict[int, str] = {}
    for name, cell in user:
        j = next(
            (
                j
                for j, cid in enumerate(table.ids)
                if cid is None and j not in placed and col.same_header(table.names[j], name)
            ),
            None,
        )
        if j is None or not name:
            return None
        placed[j] = cell
    return placed


def _user_columns(rows: Sequence[_Moved]) -> tuple[list[str], list[dict[int, str]]]:
    """The user's columns a new section table needs for ``rows``, and for each row which
    of them gets which cell. Cells beyond an old header get a column "More"."""
    names: list[str] = []
    placements: list[dict[int, str]] = []
    for moved in rows:
        placed: dict[int, str] = {}
        for name, cell in moved.user:
            name = name or "More"
            j = next(
                (j for j, n in enumerate(names) if j not in placed and col.same_header(n, name)),
                None,
            )
            if j is None:
                names.append(name)
                j = len(names) - 1
            placed[j] = cell
        placements.append(placed)
    return names, placements


def _row(ids: Sequence[str | None], moved: _Moved, user: dict[int, str]) -> str:
    old = [user.get(j, "") for j in range(len(ids))]
    return blk.render(ids, moved.values, old)


def migrate(text: str, history: int, done: blk.DocUpdate) -> tuple[str, list[int | None]]:
    """Move the rows of other suites out of the headline (and headline history) table:
    the new text and, per line of it, the input line it is (None: new). What was moved,
    and what was not, is noted in ``done``.

    Raises :class:`~pytest_ttsbench.report.doc_parse.UnsafeDoc` as the upsert would."""
    doc = blk.Draft.read(text)
    moves = _find_moves(doc)
    if not moves:
        return text, list(range(len(doc.lines)))
    warnings: list[str] = []
    moved_lines: list[int] = []
    counts: dict[tuple[bool, str], int] = {}
    for (section, is_history), rows in moves.items():
        name = section.history_block if is_history else section.block
        table = doc.table(name, section.label, section.key)
        done_rows: list[_Moved] = []
        if table is not None and table.header is not None:
            for moved in rows:
                placed = _placed(table, moved.user)
                if placed is None:
                    warnings.append(
                        f"line {moved.index + 1} belongs to the {section.label} section, "
                        "but its cells in your own columns have no column of that name "
                        "there; left where it is: move it by hand"
                    )
                    continue
                at = table.end if is_history else table.insert_at(moved.key)
                doc.edits.add(at, _row(table.ids, moved, placed))
                done_rows.append(moved)
        else:
            names, placements = _user_columns(rows)
            ids: list[str | None] = [*section.columns, *([None] * len(names))]
            header = col.render_header(
                ids, [*(col.BY_ID[c].header for c in section.columns), *names]
            )
            order = list(range(len(rows)))
            if not is_history:  # a history stays newest first
                order.sort(key=lambda k: tb.sort_key(rows[k].key))
            body = [
                _row(ids, rows[k], {len(section.columns) + j: c for j, c in placements[k].items()})
                for k in order
            ]
            done_rows = list(rows)
            if table is not None:  # the block lost its table: a fresh one at its end
                doc.append_table(name, [*header, *body])
            elif is_history:
                doc.new_block(section, True, blk.history_body(section, body, history, header))
            else:
                doc.new_block(section, False, blk.section_body(section, body, header))
        for moved in done_rows:
            doc.edits.delete.add(moved.index)
            moved_lines.append(moved.index + 1)
            counts[(is_history, section.suite)] = counts.get((is_history, section.suite), 0) + 1
    done.warnings += [*_summary(counts), *warnings]
    done.migrated_lines = sorted(moved_lines)
    return doc.text()


def _find_moves(doc: blk.Draft) -> dict[tuple[Section, bool], list[_Moved]]:
    """The rows of the old headline and history tables that belong to a section, by
    section and whether they go to its history. A row whose key the section already has
    goes to its history."""
    moves: dict[tuple[Section, bool], list[_Moved]] = {}
    taken: dict[str, set[tb.Key]] = {}
    for source in (RESULTS, HISTORY):
        table = doc.table(source, source, HEADLINE_KEY)
        if table is None or table.header is None:
            continue
        for row in table.rows:
            home = legacy_home(table.values(row))
            if home is None:
                continue
            section = suite_section(home[0])
            values = {**table.values(row), **home[1]}
            key = key_of(section, values)
            # a row whose key the section already has is older than that row
            to_history = source == HISTORY or key in _keys(doc, section, taken)
            moves.setdefault((section, to_history), []).append(
                _Moved(row.index, values, table.user_cells(row), key)
            )
    return moves


def _keys(doc: blk.Draft, section: Section, cache: dict[str, set[tb.Key]]) -> set[tb.Key]:
    if section.block not in cache:
        table = doc.table(section.block, section.label, section.key)
        cache[section.block] = set() if table is None else {r.key for r in table.rows}
    return cache[section.block]


def _summary(counts: dict[tuple[bool, str], int]) -> list[str]:
    out = []
    for is_history, what in ((False, "headline table"), (True, "headline history")):
        parts = [f"{suite} {n}" for (h, suite), n in sorted(counts.items()) if h == is_history]
        if parts:
            total = sum(n for (h, _), n in counts.items() if h == is_history)
            rows = "row" if total == 1 else "rows"
            out.append(
                f"moved {total} {rows} of other suites, prompts or settings from the {what} "
                f"to their sections ({', '.join(parts)}): the headline compares the "
                f"latency suite on the {HEADLINE_PROMPT!r} prompt only. Cells a section "
                "has no column for were left out (the results JSON files have them)"
            )
    return out
