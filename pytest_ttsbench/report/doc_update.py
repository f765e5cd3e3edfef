"""The upsert of a results doc's text: which rows a run replaces, adds and moves to the
history, in the headline table and in each suite's section, as text in, text out
(:func:`update_doc_text`). Pure: no I/O.

Rules, in the order they matter:

- Text outside the blocks is never changed. Inside, only the rows of keys in this run
  are rewritten, new rows are inserted in key order, and blank lines that split the
  table are removed; every other line keeps its bytes (CRLF, odd encodings included).
- Which table a result goes to is :mod:`~pytest_ttsbench.report.sections`: the headline
  only takes the latency suite on the headline prompt; no other suite touches it.
- A failed result never replaces a good row: the row stays and a note under the table
  says when the last run failed and why. It is added as a row (Gates "FAILED: ...")
  only where its key has no row yet, and a later good run replaces it.
- Columns are found by their header names, so users may reorder, drop or add columns;
  a user's own columns keep their cells when a row is updated.
- Lines that cannot be parsed stay where they are and a warning names their numbers.
- The old values of an updated good row go on top of its section's history table; each
  key keeps at most ``history`` rows there, the oldest beyond that are pruned.
- A doc written before the sections is migrated first (:mod:`.doc_migrate`).
- A doc whose markers are damaged is not guessed at: the result says why
  (``DocUpdate.unsafe``) and carries no text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc_blocks as blk
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.doc_migrate import migrate
from pytest_ttsbench.report.doc_parse import (
    Row,
    UnsafeDoc,
    content,
    dominant_eol,
    find_blocks,
    parse_table,
    split_lines,
    table_warnings,
)
from pytest_ttsbench.report.sections import (
    HEADLINE,
    HEADLINE_PROMPT,
    HEADLINE_SUITE,
    RESULTS,
    Section,
    entry_key,
    key_of,
    section_for_block,
    select,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_HISTORY = 5

NEW_DOC_HEADER = f"""\
# TTS benchmark results

The first table is the headline: one row per model + backend + hardware (+ variant),
all measured the same way, by the {HEADLINE_SUITE} suite on the `{HEADLINE_PROMPT}` prompt, in the
engine's default streaming mode, with no knobs set. No other suite writes to it. Every
other suite (streaming, concurrency, memory, cold start, quality, caching, sweeps, soak,
and latency on other prompts) has its own section below, keyed the same way plus
prompt, mode and params, with the columns that suite measures.

Kept up to date by [pytest-ttsbench](https://pypi.org/project/pytest-ttsbench/):
`pytest --update-results-doc` on one machine, or
`python -m pytest_ttsbench merge results-*.json` over many. The rows between the
invisible markers below are managed; text anywhere else in this file is yours and is
never changed. Cells you add in your own columns are kept.

- **Mode**: streaming mode: native (the engine streams), sentence (the harness
  streams it sentence by sentence) or none (one chunk).
- **Prompt**: the prompt preset the row was measured with. **Params**: the knobs set.
- **TTFA**: time to first audio, from the call to the first chunk with audio, in ms.
- **Latency**: end to end, from the call to the last chunk, in ms.
- **RTF**: latency / audio seconds. Lower is better; below 1 is faster than real time.
- **Peak RSS**: process memory peak. **Accel peak**: GPU/accelerator memory peak,
  n/a where the framework does not expose it.
- **Load**: model load time, once per session (cold).
- **n**: measured trials behind the percentiles; "contended" marks runs timed beside
  parallel pytest-xdist workers.
- **Gates**: the row's gate verdicts: fail beats inconclusive beats pass; none: no gate.
  FAILED: the test failed. A failed run never replaces a good row: the row keeps its
  numbers and a note under the table says when the last run failed and why.
- **Date**: when it was measured (UTC). **Versions**: engine packages.
  **Plugin**: the pytest-ttsbench version.

"""

RowId = tuple[str, tb.Key]  # (section label, key)


@dataclass(frozen=True)
class DocUpdate:
    """What :func:`update_doc_text` decided. ``text`` is None when the doc is unsafe."""

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


@dataclass
class _State:
    lines: list[str]
    blocks: dict[str, tuple[int, int]]
    history: int
    edits: blk.Edits = field(default_factory=blk.Edits)
    warnings: list[str] = field(default_factory=list)
    added: list[RowId] = field(default_factory=list)
    updated: list[RowId] = field(default_factory=list)
    unchanged: list[RowId] = field(default_factory=list)
    kept: list[RowId] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    removed_notes: list[int] = field(default_factory=list)
    moved: int = 0
    pruned: int = 0
    # new blocks by the line they go before: (order, lines)
    new_blocks: dict[int, list[tuple[tuple[int, int, str], list[str]]]] = field(
        default_factory=dict
    )

    def new_block(self, name: str, order: tuple[int, int, str], body: list[str]) -> None:
        at = blk.anchor(name, self.blocks, len(self.lines))
        self.new_blocks.setdefault(at, []).append((order, blk.block_lines(name, body)))


def _new_rows(section: Section, entries: Sequence[tb.Entry]) -> list[str]:
    """The rows of a table made fresh, in the section's own column order."""
    return [blk.render(section.columns, col.cells_for(e, section.columns)) for e in entries]


# ---- the upsert --------------------------------------------------------------------------
def update_doc_text(
    text: str | None,
    entries: Sequence[tb.Entry],
    *,
    history: int = DEFAULT_HISTORY,
    plot_link: str | None = None,
    new_doc_header: str = NEW_DOC_HEADER,
) -> DocUpdate:
    """The doc with ``entries`` upserted, each into its section (one row per key).

    ``text`` None (or blank) means there is no doc yet: one is made with
    ``new_doc_header``. ``plot_link``: a relative image path the headline block should
    link to. Never raises for a bad doc: returns ``text=None`` with the reason instead.
    """
    chosen = select(entries)
    if text is None or not text.strip():
        text = new_doc_header if new_doc_header.endswith("\n") else new_doc_header + "\n"
        chosen.setdefault(HEADLINE, [])  # a new doc always has its headline table
    try:
        migration = migrate(text, history)
        out = _update(migration.text, chosen, history, plot_link)
    except UnsafeDoc as exc:
        return DocUpdate(None, unsafe=str(exc))

    def before(numbers: Sequence[int]) -> list[int]:
        # line numbers of the migrated text, as lines of the input text
        return sorted(o + 1 for o in (migration.origin[n - 1] for n in numbers) if o is not None)

    return DocUpdate(
        out.text,
        warnings=migration.warnings + out.warnings,
        added=out.added,
        updated=out.updated,
        unchanged=out.unchanged,
        kept=out.kept,
        moved_to_history=out.moved_to_history,
        pruned=out.pruned,
        replaced_lines=before(out.replaced_lines),
        removed_notes=before(out.removed_notes),
        migrated_lines=migration.moved_lines,
    )


def _update(
    text: str,
    chosen: Mapping[Section, Sequence[tb.Entry]],
    history: int,
    plot_link: str | None,
) -> DocUpdate:
    lines = split_lines(text)
    st = _State(lines, find_blocks(lines), history)
    # every table the doc has is read (its warnings, blank lines, history pruning), not
    # only those this run writes to
    present = {section_for_block(name) for name in st.blocks}
    sections = {s for s in present if s is not None} | set(chosen)
    for section in sorted(sections, key=lambda s: s.order):
        moved: list[dict[str, str]] = []
        if section in chosen or section.block in st.blocks:
            moved = _upsert_section(st, section, chosen.get(section, []))
        _update_history(st, section, moved)
    if plot_link:
        _link_plot(st, plot_link)
    for at, groups in st.new_blocks.items():
        blk.insert_blocks(st.edits, lines, at, [g for _, g in sorted(groups, key=lambda x: x[0])])
    out, _ = st.edits.apply(lines, dominant_eol(lines))
    return DocUpdate(
        out,
        warnings=st.warnings,
        added=st.added,
        updated=st.updated,
        unchanged=st.unchanged,
        kept=st.kept,
        moved_to_history=st.moved,
        pruned=st.pruned,
        replaced_lines=sorted(st.replaced),
        removed_notes=sorted(st.removed_notes),
    )


def _link_plot(st: _State, link: str) -> None:
    span = st.blocks.get(RESULTS)
    if span is None:
        # the headline block is new: its chart goes inside it
        for groups in st.new_blocks.values():
            for _, group in groups:
                if group[0] == blk.block_lines(RESULTS, [])[0]:
                    group[-1:-1] = ["", blk.image_line(link)]
        return
    begin, end = span
    if any(f"]({link})" in st.lines[i] for i in range(begin, end)):
        return
    pending = st.edits.insert.get(end)
    needs_gap = bool(pending) or blk.ends_with_text(st.lines, begin, end)
    st.edits.add(end, *([""] if needs_gap else []), blk.image_line(link))


def _good(values: Mapping[str, str]) -> bool:
    """Whether a row holds numbers of a run that did not fail."""
    if tb.is_failed_cell(values.get("gates", "")):
        return False
    return "n" not in values or tb.parse_float(values["n"]) != 0


def _upsert_section(
    st: _State, section: Section, entries: Sequence[tb.Entry]
) -> list[dict[str, str]]:
    """Upsert ``entries`` into ``section``'s table; the old values of updated good rows,
    for the history."""
    lines = st.lines
    label = section.label
    span = st.blocks.get(section.block)
    if span is None:
        rows = _new_rows(section, entries)
        header = col.render_header(section.columns)
        st.new_block(section.block, (0, *section.order), blk.section_body(section, rows, header))
        st.added += [(label, entry_key(section, e)) for e in entries]
        return []
    begin, end = span
    table = parse_table(lines, begin + 1, end, label, section.key)
    st.warnings += table_warnings(table, label)
    st.edits.delete.update(table.blanks)
    if table.header is None:
        if not entries:
            return []
        # the block lost its table: a fresh one goes at its end, other lines stay
        fresh = [*col.render_header(section.columns), *_new_rows(section, entries)]
        if blk.ends_with_text(lines, begin, end):
            fresh.insert(0, "")
        st.edits.add(end, *fresh)
        st.added += [(label, entry_key(section, e)) for e in entries]
        return []
    first: dict[tb.Key, Row] = {}
    for row in table.rows:
        if row.key in first:
            st.warnings.append(
                f"line {row.index + 1} repeats the key {' | '.join(row.key)} "
                f"of line {first[row.key].index + 1}; only the first is updated"
            )
        else:
            first[row.key] = row
    notes = {i: lines[i] for i in range(table.end, end) if blk.is_note(content(lines[i]))}
    ours = [cid for cid in table.ids if cid]
    moved: list[dict[str, str]] = []
    new_notes: list[str] = []
    for entry in entries:
        values = col.cells_for(entry, ours)
        key = entry_key(section, entry)
        match = first.get(key)
        note = next((i for i, ln in notes.items() if ln.startswith(blk.note_prefix(key))), None)
        if match is None:
            at = next(
                (r.index for r in table.rows if tb.sort_key(r.key) > tb.sort_key(key)),
                table.end,
            )
            st.edits.add(at, blk.render(table.ids, values))
            st.added.append((label, key))
            continue
        old = table.values(match)
        if entry.failed and _good(old):
            # the good numbers stay; the failure is told beside them
            if note is not None:
                st.edits.replace[note] = (
                    blk.note_line(key, entry) + lines[note][len(content(lines[note])) :]
                )
            else:
                new_notes.append(blk.note_line(key, entry))
            st.kept.append((label, key))
            continue
        if note is not None:  # a good run (or a new failed row) supersedes the note
            st.edits.delete.add(note)
            st.removed_notes.append(note + 1)
        if all(old.get(cid, "") == values[cid] for cid in ours):
            st.unchanged.append((label, key))
            continue
        line = lines[match.index]
        st.edits.replace[match.index] = (
            blk.render(table.ids, values, match.cells) + line[len(content(line)) :]
        )
        st.replaced.append(match.index + 1)
        st.updated.append((label, key))
        if _good(old):  # a failed row's n/a are no history
            moved.append(old)
    if new_notes:
        if notes:
            st.edits.add(max(notes) + 1, *new_notes)
        else:
            st.edits.add(table.end, "", *new_notes)
    return moved


# ---- the history -------------------------------------------------------------------------
def _newest(
    section: Section,
    moved: Sequence[Mapping[str, str]],
    ids: Sequence[str | None],
    keep: int,
    counts: dict[tb.Key, int],
) -> list[str]:
    """The rendered rows of ``moved``, at most ``keep`` per key; ``counts`` tallies
    every key seen, so older rows can be pruned after these."""
    rows = []
    for values in moved:
        k = key_of(section, values)
        counts[k] = counts.get(k, 0) + 1
        if counts[k] <= keep:
            rows.append(blk.render(ids, values))
    return rows


def _update_history(st: _State, section: Section, moved: Sequence[Mapping[str, str]]) -> None:
    """Old values go on top of the section's history table; each key keeps ``history``
    rows."""
    keep = max(st.history, 0)
    counts: dict[tb.Key, int] = {}
    name = section.history_block
    span = st.blocks.get(name)
    if span is None:
        if not moved or keep == 0:
            return
        rows = _newest(section, moved, section.columns, keep, counts)
        st.new_block(name, (1, *section.order), blk.history_body(section, rows, keep))
        st.moved += len(rows)
        return
    begin, end = span
    what = f"{section.label} history"
    table = parse_table(st.lines, begin + 1, end, what, section.key)
    if table.header is None:
        if not moved or keep == 0:
            return
        fresh = [*col.render_header(section.columns)]
        ids: Sequence[str | None] = section.columns
        at = end
        if blk.ends_with_text(st.lines, begin, end):
            fresh.insert(0, "")
    else:
        st.warnings += table_warnings(table, what)
        st.edits.delete.update(table.blanks)
        fresh = []
        ids = table.ids
        at = table.separator + 1
    rows = _newest(section, moved, ids, keep, counts)
    fresh += rows
    for row in table.rows:
        counts[row.key] = counts.get(row.key, 0) + 1
        if counts[row.key] > keep:
            st.edits.delete.add(row.index)
            st.pruned += 1
    if fresh:
        st.edits.add(at, *fresh)
    st.moved += len(rows)
