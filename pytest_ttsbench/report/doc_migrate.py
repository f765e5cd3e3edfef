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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc_blocks as blk
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.doc_parse import (
    Table,
    dominant_eol,
    find_blocks,
    parse_table,
    split_lines,
)
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

    from pytest_ttsbench.report.sections import Section


@dataclass(frozen=True)
class Migration:
    text: str
    origin: list[int | None]  # per line of ``text``: the input line it is (None: new)
    warnings: list[str] = field(default_factory=list)
    moved_lines: list[int] = field(default_factory=list)  # 1-based input lines moved out


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


def migrate(text: str, history: int) -> Migration:
    """Move the rows of other suites out of the headline (and headline history) table.

    Raises :class:`~pytest_ttsbench.report.doc_parse.UnsafeDoc` as the upsert would."""
    lines = split_lines(text)
    blocks = find_blocks(lines)
    moves = _find_moves(lines, blocks)
    if not moves:
        return Migration(text, list(range(len(lines))))
    edits = blk.Edits()
    warnings: list[str] = []
    moved_lines: list[int] = []
    counts: dict[tuple[bool, str], int] = {}
    new_blocks: dict[int, list[tuple[tuple[int, int, str], list[str]]]] = {}
    for (section, is_history), rows in moves.items():
        name = section.history_block if is_history else section.block
        span = blocks.get(name)
        table = None
        if span is not None:
            table = parse_table(lines, span[0] + 1, span[1], section.label, section.key)
        done: list[_Moved] = []
        if span is not None and table is not None and table.header is not None:
            for moved in rows:
                placed = _placed(table, moved.user)
                if placed is None:
                    warnings.append(
                        f"line {moved.index + 1} belongs to the {section.label} section, "
                        "but its cells in your own columns have no column of that name "
                        "there; left where it is: move it by hand"
                    )
                    continue
                at = table.end
                if not is_history:
                    at = next(
                        (
                            r.index
                            for r in table.rows
                            if tb.sort_key(r.key) > tb.sort_key(moved.key)
                        ),
                        table.end,
                    )
                edits.add(at, _row(table.ids, moved, placed))
                done.append(moved)
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
            done = list(rows)
            if span is not None:  # the block lost its table: a fresh one at its end
                fresh = [*header, *body]
                if blk.ends_with_text(lines, span[0], span[1]):
                    fresh.insert(0, "")
                edits.add(span[1], *fresh)
            else:
                group = blk.block_lines(
                    name,
                    blk.history_body(section, body, history, header)
                    if is_history
                    else blk.section_body(section, body, header),
                )
                at = blk.anchor(name, blocks, len(lines))
                new_blocks.setdefault(at, []).append(((int(is_history), *section.order), group))
        for moved in done:
            edits.delete.add(moved.index)
            moved_lines.append(moved.index + 1)
            counts[(is_history, section.suite)] = counts.get((is_history, section.suite), 0) + 1
    for at, groups in new_blocks.items():
        blk.insert_blocks(edits, lines, at, [g for _, g in sorted(groups, key=lambda x: x[0])])
    warnings[:0] = _summary(counts)
    out, origin = edits.apply(lines, dominant_eol(lines))
    return Migration(out, origin, warnings, sorted(moved_lines))


def _find_moves(
    lines: Sequence[str], blocks: dict[str, tuple[int, int]]
) -> dict[tuple[Section, bool], list[_Moved]]:
    """The rows of the old headline and history tables that belong to a section, by
    section and whether they go to its history. A row whose key the section already has
    goes to its history."""
    moves: dict[tuple[Section, bool], list[_Moved]] = {}
    taken: dict[str, set[tb.Key]] = {}
    for source in (RESULTS, HISTORY):
        span = blocks.get(source)
        if span is None:
            continue
        table = parse_table(lines, span[0] + 1, span[1], source, HEADLINE_KEY)
        if table.header is None:
            continue
        for row in table.rows:
            home = legacy_home(table.values(row))
            if home is None:
                continue
            section = suite_section(home[0])
            values = {**table.values(row), **home[1]}
            key = key_of(section, values)
            # a row whose key the section already has is older than that row
            to_history = source == HISTORY or key in _keys(lines, blocks, section, taken)
            moves.setdefault((section, to_history), []).append(
                _Moved(row.index, values, table.user_cells(row), key)
            )
    return moves


def _keys(
    lines: Sequence[str],
    blocks: dict[str, tuple[int, int]],
    section: Section,
    cache: dict[str, set[tb.Key]],
) -> set[tb.Key]:
    if section.block not in cache:
        span = blocks.get(section.block)
        keys: set[tb.Key] = set()
        if span is not None:
            table = parse_table(lines, span[0] + 1, span[1], section.label, section.key)
            keys = {r.key for r in table.rows}
        cache[section.block] = keys
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
