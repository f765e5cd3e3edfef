"""Docs written before the suite sections: one table held every suite's rows. They are
upgraded to the headline + sections layout without losing a line of the user's."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_update as du
from tests.unit.report_support import (
    GOLDEN,
    LATER,
    assert_golden,
    block,
    make_result,
    table_rows,
)

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult

MARKER = "<!-- ttsbench:"


def upgrade(text: str, results: list[BenchResult] | None = None) -> du.DocUpdate:
    entries = rd.entries_for(results or [], now=LATER, plugin_version="0.1.0")
    return du.update_doc_text(text, entries)


def outside_blocks(text: str) -> list[str]:
    """The non-blank lines outside every managed block, in order."""
    out, depth = [], 0
    for line in text.splitlines():
        if line.startswith(MARKER) and line.endswith(":begin -->"):
            depth += 1
        elif line.startswith(MARKER) and line.endswith(":end -->"):
            depth -= 1
        elif depth == 0 and line.strip():
            out.append(line)
    return out


def test_golden_the_projects_own_doc_upgrades() -> None:
    old = (GOLDEN / "legacy_benchmark_results.md").read_text(encoding="utf-8")
    out = upgrade(old)
    assert out.text is not None
    assert_golden("legacy_benchmark_results.expected.md", out.text)
    assert outside_blocks(out.text) == outside_blocks(old)
    [headline] = table_rows(out.text, "results")
    assert (
        "| kokoro | onnx | Intel(R) Xeon(R) Processor @ 2.10GHz (2 cores) | native | medium |"
        in headline
    )
    moved = {
        "streaming": 2,
        "concurrency": 5,
        "memory": 1,
        "cold_start": 1,
        "quality": 1,
        "caching": 1,
        "sweeps": 3,
    }
    for suite, n in moved.items():
        assert len(table_rows(out.text, f"suite.{suite}")) == n, suite
    assert out.warnings[0].startswith(
        "moved 14 rows of other suites, prompts or settings from the headline table to "
        "their sections (caching 1, cold_start 1, concurrency 5, memory 1, quality 1, "
        "streaming 2, sweeps 3)"
    )
    assert len(out.migrated_lines) == 14
    # every moved row's numbers that its section shows are still there
    assert "| short | native | concurrency=4 |  |  | 4574 | 4874 | 4574 |" in out.text
    assert "| short | native | speed=0.8 | 1479 | 1525 | 1479 | 0.492 |" in out.text
    # done once: the upgraded doc reads back unchanged
    assert upgrade(out.text).text == out.text


def test_golden_a_hand_edited_old_doc_upgrades_keeping_every_line_of_the_user() -> None:
    old = (GOLDEN / "legacy_hand_edited.md").read_text(encoding="utf-8")
    out = upgrade(old)
    assert out.text is not None
    assert_golden("legacy_hand_edited.expected.md", out.text)
    assert outside_blocks(out.text) == outside_blocks(old)
    # inside the blocks: the user's lines and the cells of their own column all survive
    for line in ("TODO: ask infra why the H100 run was slow", "![our chart](chart.png)"):
        assert line in block(out.text, "results")
    cells = Counter(c.strip() for ln in out.text.splitlines() for c in ln.split("|"))
    for note in ("tuned threads", "quality run took the row", "fp32 sweep"):
        assert cells[note] == 1, note
    assert "| Our notes |" in block(out.text, "suite.quality")
    # the quality run no longer poses as chatterbox's headline row
    assert [r.split("|")[1].strip() for r in table_rows(out.text, "results")] == ["kokoro"]
    assert "| kokoro (fp32) | onnx | AMD EPYC 7763 (16 cores) | short | native | speed=0.8 |" in (
        block(out.text, "suite.sweeps")
    )
    # an old history row of another suite moved to that suite's history
    assert len(table_rows(out.text, "history.concurrency")) == 1
    assert len(table_rows(out.text, "history")) == 1
    assert upgrade(out.text).text == out.text


DATE = re.compile(r"\d{4}-\d\d-\d\d")


def test_the_upgrade_and_an_upsert_happen_in_one_write() -> None:
    old = (GOLDEN / "legacy_hand_edited.md").read_text(encoding="utf-8")
    conc = make_result(suite="concurrency", prompt="short", params={"concurrency": 2})
    out = upgrade(old, [conc, make_result()])
    assert out.text is not None
    [row] = table_rows(out.text, "suite.concurrency")
    assert "| 2025-02-03 |" in row
    # the migrated row went to the history of its section, on top of the older one
    history = table_rows(out.text, "history.concurrency")
    dates = [next(c.strip() for c in r.split("|") if DATE.fullmatch(c.strip())) for r in history]
    assert dates == ["2026-10-01", "2026-09-01"]
    assert "| tuned threads |" in table_rows(out.text, "results")[0]  # user cell kept


def test_a_moved_row_whose_own_cells_have_no_column_in_its_section_stays() -> None:
    first = upgrade("", [make_result(suite="sweeps", prompt="short", params={"speed": 0.8})])
    assert first.text is not None
    legacy = (
        "| Model | Backend | Hardware | Prompt | Mine |\n|---|---|---|---|---|\n"
        "| kokoro (speed=1.25) | onnx | AMD EPYC 7763 (16 cores) | short (sweeps) | keep |\n"
    )
    begin = "<!-- ttsbench:results:begin -->\n"
    head, rest = first.text.split(begin)
    text = head + begin + legacy + rest[rest.index("<!-- ttsbench:results:end -->") :]
    out = upgrade(text)
    assert out.text is not None
    assert "| kokoro (speed=1.25) | onnx | AMD EPYC 7763 (16 cores) | short (sweeps) | keep |" in (
        out.text
    )
    assert any("have no column of that name there; left where it is" in w for w in out.warnings)


def test_unparseable_lines_of_an_old_table_are_kept_and_named() -> None:
    old = (GOLDEN / "legacy_hand_edited.md").read_text(encoding="utf-8")
    damaged = old.replace("TODO: ask infra", "| | | | orphan |\nTODO: ask infra")
    out = upgrade(damaged)
    assert out.text is not None
    assert "| | | | orphan |" in block(out.text, "results")
    assert any("could not be parsed as rows; kept as they are" in w for w in out.warnings)
