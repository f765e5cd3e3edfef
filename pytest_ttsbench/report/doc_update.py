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

from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc_blocks as blk
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.doc_blocks import DocUpdate as DocUpdate  # re-exported
from pytest_ttsbench.report.doc_blocks import RowId as RowId
from pytest_ttsbench.report.doc_migrate import migrate
from pytest_ttsbench.report.doc_parse import Row, Table, UnsafeDoc, content, marker, table_warnings
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
from pytest_ttsbench.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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
- **CER**: intelligibility: the character error rate of an ASR transcript of the audio
  against its prompt (0 is every character heard; above 0.4 the trial is invalid).
  unchecked: the intelligibility extra was not installed, or the check was off.
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


def _new_rows(section: Section, entries: Sequence[tb.Entry]) -> list[str]:
    """The rows of a table made fresh, in the section's own column order."""
    return [blk.render(section.columns, col.cells_for(e, section.columns)) for e in entries]


# ---- the upsert --------------------------------------------------------------------------
def update_doc_text(
    text: str | None,
    entries: Sequence[tb.Entry],
    *,
    history: int = Settings.history,
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
    done = DocUpdate(None)
    try:
        migrated, origin = migrate(text, history, done)
        doc = blk.Draft.read(migrated)
        _upsert(doc, done, chosen, history)
    except UnsafeDoc as exc:
        return DocUpdate(None, unsafe=str(exc))
    if plot_link:
        _link_plot(doc, plot_link)
    done.text, _ = doc.text()

    def before(numbers: Sequence[int]) -> list[int]:
        # line numbers of the migrated text, as lines of the input text
        return sorted(o + 1 for o in (origin[n - 1] for n in numbers) if o is not None)

    done.replaced_lines = before(done.replaced_lines)
    done.removed_notes = before(done.removed_notes)
    return done


def _upsert(
    doc: blk.Draft, done: DocUpdate, chosen: Mapping[Section, Sequence[tb.Entry]], history: int
) -> None:
    # every table the doc has is read (its warnings, blank lines, history pruning), not
    # only those this run writes to
    present = {section_for_block(name) for name in doc.blocks}
    sections = {s for s in present if s is not None} | set(chosen)
    for section in sorted(sections, key=lambda s: s.order):
        moved: list[dict[str, str]] = []
        if section in chosen or section.block in doc.blocks:
            moved = _upsert_section(doc, done, section, chosen.get(section, []))
        _update_history(doc, done, section, moved, max(history, 0))


def _table(
    doc: blk.Draft, done: DocUpdate, name: str, what: str, key: Sequence[str]
) -> Table | None:
    """The table of block ``name``, its odd lines warned about and the blank lines that
    split it removed; None: the doc has no such block."""
    table = doc.table(name, what, key)
    if table is not None:
        done.warnings += table_warnings(table, what)
        doc.edits.delete.update(table.blanks)
    return table


def _link_plot(doc: blk.Draft, link: str) -> None:
    span = doc.blocks.get(RESULTS)
    if span is None:
        # the headline block is new: its chart goes inside it
        for groups in doc.new_blocks.values():
            for _, group in groups:
                if group[0] == marker(RESULTS, "begin"):
                    group[-1:-1] = ["", blk.image_line(link)]
        return
    begin, end = span
    if any(f"]({link})" in doc.lines[i] for i in range(begin, end)):
        return
    pending = doc.edits.insert.get(end)
    needs_gap = bool(pending) or blk.ends_with_text(doc.lines, begin, end)
    doc.edits.add(end, *([""] if needs_gap else []), blk.image_line(link))


def _good(values: Mapping[str, str]) -> bool:
    """Whether a row holds numbers of a run that did not fail."""
    if tb.is_failed_cell(values.get("gates", "")):
        return False
    return "n" not in values or tb.parse_float(values["n"]) != 0


def _upsert_section(
    doc: blk.Draft, done: DocUpdate, section: Section, entries: Sequence[tb.Entry]
) -> list[dict[str, str]]:
    """Upsert ``entries`` into ``section``'s table; the old values of updated good rows,
    for the history."""
    lines = doc.lines
    label = section.label
    table = _table(doc, done, section.block, label, section.key)
    if table is None or table.header is None:
        rows = _new_rows(section, entries)
        header = col.render_header(section.columns)
        if table is None:
            doc.new_block(section, False, blk.section_body(section, rows, header))
        elif entries:  # the block lost its table: a fresh one goes at its end
            doc.append_table(section.block, [*header, *rows])
        done.added += [(label, entry_key(section, e)) for e in entries]
        return []
    first: dict[tb.Key, Row] = {}
    for row in table.rows:
        if row.key in first:
            done.warnings.append(
                f"line {row.index + 1} repeats the key {' | '.join(row.key)} "
                f"of line {first[row.key].index + 1}; only the first is updated"
            )
        else:
            first[row.key] = row
    _, end = doc.blocks[section.block]
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
            doc.edits.add(table.insert_at(key), blk.render(table.ids, values))
            done.added.append((label, key))
            continue
        old = table.values(match)
        if entry.failed and _good(old):
            # the good numbers stay; the failure is told beside them
            if note is not None:
                doc.edits.replace[note] = (
                    blk.note_line(key, entry) + lines[note][len(content(lines[note])) :]
                )
            else:
                new_notes.append(blk.note_line(key, entry))
            done.kept.append((label, key))
            continue
        if note is not None:  # a good run (or a new failed row) supersedes the note
            doc.edits.delete.add(note)
            done.removed_notes.append(note + 1)
        if all(old.get(cid, "") == values[cid] for cid in ours):
            done.unchanged.append((label, key))
            continue
        line = lines[match.index]
        doc.edits.replace[match.index] = (
            blk.render(table.ids, values, match.cells) + line[len(content(line)) :]
        )
        done.replaced_lines.append(match.index + 1)
        done.updated.append((label, key))
        if _good(old):  # a failed row's n/a are no history
            moved.append(old)
    if new_notes:
        if notes:
            doc.edits.add(max(notes) + 1, *new_notes)
        else:
            doc.edits.add(table.end, "", *new_notes)
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


def _update_history(
    doc: blk.Draft,
    done: DocUpdate,
    section: Section,
    moved: Sequence[Mapping[str, str]],
    keep: int,
) -> None:
    """Old values go on top of the section's history table; each key keeps ``keep``
    rows."""
    counts: dict[tb.Key, int] = {}
    name = section.history_block
    table = _table(doc, done, name, f"{section.label} history", section.key)
    if table is None or table.header is None:
        if not moved or keep == 0:
            return
        rows = _newest(section, moved, section.columns, keep, counts)
        if table is None:
            doc.new_block(section, True, blk.history_body(section, rows, keep))
        else:  # the block lost its table: a fresh one goes at its end
            doc.append_table(name, [*col.render_header(section.columns), *rows])
    else:
        rows = _newest(section, moved, table.ids, keep, counts)
        for row in table.rows:
            counts[row.key] = counts.get(row.key, 0) + 1
            if counts[row.key] > keep:
                doc.edits.delete.add(row.index)
                done.pruned += 1
        if rows:
            doc.edits.add(table.separator + 1, *rows)
    done.moved_to_history += len(rows)
