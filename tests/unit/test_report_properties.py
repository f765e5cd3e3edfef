"""Property: whatever a user does to the doc by hand, an upsert never loses a line of
their text, and a second identical upsert changes nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_parse as dp
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.report import sections as sec
from pytest_ttsbench.report import table as tb
from tests.unit.report_support import LATER, NOW, make_result

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult

FIRST_RUN = [
    make_result(),
    make_result("chatterbox", "pt", "NVIDIA H100", device="cuda", accel_peak_mb=2048.0),
    make_result("marvis", "mlx", "Apple M3 Max", stream_mode="sentence"),
]
SECOND_RUN = [
    make_result(latencies_ms=[300.0, 320.0]),  # updates a row: the old one goes to history
    make_result("marvis", "mlx", "Apple M3 Max", latencies_ms=[900.0]),
    make_result("kokoro", "pt", "AMD EPYC 7763 (16 cores)"),  # a new key
]
THIRD_RUN = [
    make_result(latencies_ms=[200.0]),
    make_result("zeta|tts", "onnx", "Pi 5 `8 GB`"),  # user-engine text that needs escaping
    make_result(suite="streaming", params={"mode": "native"}),  # a section of its own
    make_result("marvis", "mlx", "Apple M3 Max", outcome="failed", latencies_ms=[]),  # a note
]


def _entries(results: list[BenchResult], plugin: str = "0.1.0") -> list[tb.Entry]:
    return rd.entries_for(results, now=LATER, plugin_version=plugin)


def _base_doc() -> str:
    """User prose around a doc that already has a results and a history block."""
    text = "# Team numbers\n\nWe measure on the lab boxes.\n"
    first = du.update_doc_text(text, rd.entries_for(FIRST_RUN, now=NOW, plugin_version="0.0.9"))
    assert first.text is not None
    second = du.update_doc_text(first.text + "\nFooter by hand.\n", _entries(SECOND_RUN))
    assert second.text is not None
    return second.text


BASE = _base_doc()

junk_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"), max_size=30
)


@dataclass(frozen=True)
class Edit:
    kind: str  # insert, duplicate, delete_line, delete_cell, replace_cell
    where: float  # which line, as a fraction of the doc
    cell: float  # which cell, as a fraction of the row
    text: str


edits = st.builds(
    Edit,
    st.sampled_from(["insert", "duplicate", "delete_line", "delete_cell", "replace_cell"]),
    st.floats(0, 1),
    st.floats(0, 1),
    junk_text | st.sampled_from(["| a | b |", "|---|", "", "  ", "| kokoro | onnx | x |"]),
)


def _pick(n: int, frac: float) -> int:
    return min(int(frac * n), n - 1)


def apply_edit(lines: list[str], edit: Edit) -> None:
    """Edit ``lines`` (no endings) in place, as a careless human would."""
    if edit.kind == "insert":
        lines.insert(_pick(len(lines) + 1, edit.where), edit.text)
        return
    i = _pick(len(lines), edit.where)
    if edit.kind == "duplicate":
        lines.insert(i, lines[i])
        return
    if edit.kind == "delete_line":  # a marker, the header, the separator, a row...
        del lines[i]
        return
    pipes = [k for k, ch in enumerate(lines[i]) if ch == "|"]
    if len(pipes) < 2:
        return
    j = _pick(len(pipes) - 1, edit.cell)
    a, b = pipes[j], pipes[j + 1]
    if edit.kind == "delete_cell":
        lines[i] = lines[i][:a] + lines[i][b:]
    else:
        lines[i] = lines[i][: a + 1] + f" {edit.text} " + lines[i][b:]


def _all_cells(text: str) -> Counter[str]:
    cells: Counter[str] = Counter()
    for line in dp.split_lines(text):
        cells.update(tb.split_row(dp.content(line)) or [])
    return cells


def _ids(text: str, block: str) -> list[str | None]:
    lines = dp.split_lines(text)
    found = dp.find_blocks(lines).get(block)
    if found is None:
        return []
    return dp.parse_table(lines, found[0] + 1, found[1], block, sec.HEADLINE_KEY).ids


def _kept_cells(line: str, table_ids: list[str | None], history_ids: list[str | None]) -> list[str]:
    """The cells of a rewritten row that must survive: the user's own columns (kept in the
    row) and ours that the history table has (moved there). A column the user deleted from
    the history table is, by their choice, not kept."""
    cells = tb.split_row(line) or []
    return [
        c
        for j, c in enumerate(cells)
        if c and (j >= len(table_ids) or table_ids[j] is None or table_ids[j] in history_ids)
    ]


@given(st.lists(edits, max_size=6), st.booleans())
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_hand_edits_never_lose_a_line(changes: list[Edit], crlf: bool) -> None:
    lines = BASE.split("\n")
    for change in changes:
        apply_edit(lines, change)
    text = ("\r\n" if crlf else "\n").join(lines)
    out = du.update_doc_text(text, _entries(THIRD_RUN), history=100)
    event(
        "refused"
        if out.text is None
        else f"ok, {len(out.warnings)} warnings, {len(out.replaced_lines)} replaced"
    )
    if out.text is None:  # refused: the caller writes a side file and leaves the doc
        assert out.unsafe
        return
    before = [dp.content(line) for line in dp.split_lines(text)]
    after = Counter(dp.content(line) for line in dp.split_lines(out.text))
    replaced = set(out.replaced_lines)
    migrated = set(out.migrated_lines)  # an old row of another suite, now in its section
    notes = set(out.removed_notes)  # our own failure note, superseded by a good run
    cells = _all_cells(out.text)
    table_ids = _ids(text, dp.RESULTS)
    history_ids = _ids(out.text, dp.HISTORY)
    for number, line in enumerate(before, start=1):
        if not line.strip():
            continue  # blank lines inside a table may go; they are layout, not text
        if number in replaced:
            # a rewritten row: each of its old cells lives on, in the row or the history
            kept = _kept_cells(line, table_ids, history_ids)
            assert all(cells[c] > 0 for c in kept), line
            continue
        if number in migrated:
            # a moved row: the cells of the user's own columns live on in the section
            mine = _kept_cells(line, table_ids, [])
            assert all(cells[c] > 0 for c in mine), line
            continue
        if number in notes:
            continue
        assert after[line] > 0, f"line {number} lost: {line!r}"
        after[line] -= 1
    if crlf:
        assert "\n" not in out.text.replace("\r\n", "")
    # what was upserted reads back, and doing it again is a no-op
    again = du.update_doc_text(out.text, _entries(THIRD_RUN), history=100)
    assert again.text == out.text
    assert again.added == again.updated == []


@given(st.lists(st.sampled_from(FIRST_RUN + SECOND_RUN + THIRD_RUN), max_size=8))
@settings(max_examples=60, deadline=None, database=None)
def test_any_run_upserted_into_any_doc_reads_back(results: list[BenchResult]) -> None:
    out = du.update_doc_text(BASE, _entries(results, plugin="9.9.9"))
    assert out.text is not None
    lines = dp.split_lines(out.text)
    blocks = dp.find_blocks(lines)
    entries = _entries(results, plugin="9.9.9")
    for section, chosen in sec.select(entries).items():
        block = blocks[section.block]
        table = dp.parse_table(lines, block[0] + 1, block[1], section.label, section.key)
        keys = [r.key for r in table.rows]
        assert len(keys) == len(set(keys))
        assert {sec.entry_key(section, e) for e in chosen} <= set(keys)
