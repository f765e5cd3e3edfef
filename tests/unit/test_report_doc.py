"""The results doc upsert: golden renders, every hand edit it must survive, and the
refusals that leave a damaged doc alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_parse as dp
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.report import sections as sec
from tests.unit.report_support import GOLDEN, LATER, NOW, assert_golden, make_result, sample_results

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pytest_ttsbench.results.model import BenchResult

KOKORO = ("kokoro", "onnx", "AMD EPYC 7763 (16 cores)")
HEAD = "results"  # the headline table's label in DocUpdate.added/updated/...


def update(
    text: str | None, results: list[BenchResult], *, history: int = 5, when: datetime = NOW
) -> du.DocUpdate:
    entries = rd.entries_for(results, now=when, plugin_version="0.1.0")
    return du.update_doc_text(text, entries, history=history)


def new_text(
    text: str | None, results: list[BenchResult], *, history: int = 5, when: datetime = NOW
) -> str:
    out = update(text, results, history=history, when=when)
    assert out.text is not None, out.unsafe
    return out.text


def rows_of(text: str, block: str = dp.RESULTS) -> list[dp.Row]:
    lines = dp.split_lines(text)
    found = dp.find_blocks(lines).get(block)
    assert found is not None
    return dp.parse_table(lines, found[0] + 1, found[1], block, sec.HEADLINE_KEY).rows


def cells_by_name(text: str, key: tuple[str, ...], block: str = dp.RESULTS) -> dict[str, str]:
    lines = dp.split_lines(text)
    found = dp.find_blocks(lines).get(block)
    assert found is not None
    table = dp.parse_table(lines, found[0] + 1, found[1], block, sec.HEADLINE_KEY)
    row = next(r for r in table.rows if r.key == key)
    return {cid: row.cells[j] for j, cid in enumerate(table.ids) if cid and j < len(row.cells)}


def faster_kokoro() -> BenchResult:
    return make_result(latencies_ms=[300.0, 310.0, 320.0])


# ---- golden files ---------------------------------------------------------------------
def test_golden_new_doc() -> None:
    assert_golden("results_new.md", new_text(None, sample_results()))


def test_golden_update_moves_old_values_to_history() -> None:
    first = (GOLDEN / "results_new.md").read_text(encoding="utf-8")
    second = [faster_kokoro(), make_result("kokoro", "pt", "AMD EPYC 7763 (16 cores)")]
    out = update(first, second, when=LATER)
    assert out.updated == [(HEAD, KOKORO)]
    assert out.added == [(HEAD, ("kokoro", "pt", "AMD EPYC 7763 (16 cores)"))]
    assert out.moved_to_history == 1
    assert out.text is not None
    assert_golden("results_updated.md", out.text)


def test_golden_hand_edited_doc() -> None:
    text = (GOLDEN / "hand_edited.md").read_text(encoding="utf-8")
    results = [
        *sample_results(),
        make_result("piper", "onnx", "Raspberry Pi 5 | 8 GB", latencies_ms=[800.0, 820.0]),
    ]
    out = update(text, results, when=LATER)
    assert out.text is not None
    assert_golden("hand_edited.expected.md", out.text)
    assert sorted(out.warnings) == sorted(
        [
            "lines 11, 15 in the results table could not be parsed as rows; kept as they are",
            "lines 10, 12 in the results table have a different number of cells than its "
            "header (8); read left to right, as Markdown does",
            "removed blank line 9 inside the results table (a blank line ends a Markdown table)",
            "line 13 repeats the key kokoro | onnx | AMD EPYC 7763 (16 cores) of line 8; "
            "only the first is updated",
        ]
    )


# ---- what an upsert may and may not change ----------------------------------------------
def test_missing_doc_is_created_with_a_header() -> None:
    text = new_text(None, [make_result()])
    assert text.startswith("# TTS benchmark results\n")
    assert "lower is better" in text
    assert [r.key for r in rows_of(text)] == [KOKORO]


def test_blank_doc_counts_as_missing() -> None:
    assert new_text("\n\n", [make_result()]).startswith("# TTS benchmark results")


def test_doc_without_block_gets_one_appended_and_keeps_its_text() -> None:
    user = "# Mine\n\nMy words, *exactly*.\nlast line without newline"
    text = new_text(user, [make_result()])
    assert text.startswith(user + "\n\n" + dp.marker(dp.RESULTS, "begin") + "\n")
    assert [r.key for r in rows_of(text)] == [KOKORO]


def test_rows_of_other_keys_and_outside_text_stay_byte_for_byte() -> None:
    base = new_text(None, sample_results())
    base = base.replace("| marvis | mlx |", "|marvis|   mlx |")  # user spacing
    base = "intro\n" + base + "outro, the end\n"
    out = new_text(base, [faster_kokoro()], when=LATER)
    table_part = out.split(dp.marker(dp.HISTORY, "begin"))[0]  # the old row is now history
    before, after = base.splitlines(), table_part.splitlines()
    changed = [line for line in before if line not in after]
    assert len(changed) == 1
    assert changed[0].startswith("| kokoro | onnx |")
    assert "|marvis|   mlx |" in out
    assert out.startswith("intro\n")
    assert "outro, the end\n" in out


def test_same_values_again_change_nothing() -> None:
    base = new_text(None, sample_results())
    out = update(base, sample_results())
    assert out.text == base
    assert out.updated == []
    assert len(out.unchanged) == 5  # 3 headline rows, 1 latency on "short", 1 streaming
    assert out.moved_to_history == 0


def test_history_is_newest_first_and_bounded_per_key() -> None:
    text = new_text(None, [make_result(latencies_ms=[100.0])])
    for i in range(1, 8):
        text = new_text(text, [make_result(latencies_ms=[100.0 + i])], history=3)
    history = rows_of(text, dp.HISTORY)
    latencies = [cells_by_name_row(text, r) for r in history]
    assert latencies == ["106", "105", "104"]  # the current 107 is in the table
    assert cells_by_name(text, KOKORO)["latency_p50"] == "107"


def cells_by_name_row(text: str, row: dp.Row) -> str:
    lines = dp.split_lines(text)
    block = dp.find_blocks(lines).get(dp.HISTORY)
    assert block is not None
    ids = dp.parse_table(lines, block[0] + 1, block[1], dp.HISTORY, sec.HEADLINE_KEY).ids
    return row.cells[ids.index("latency_p50")]


def test_history_zero_keeps_no_history() -> None:
    text = new_text(None, [make_result()])
    out = new_text(text, [faster_kokoro()], history=0, when=LATER)
    assert dp.marker(dp.HISTORY, "begin") not in out


def test_lowering_history_prunes_only_our_rows() -> None:
    text = new_text(None, [make_result(latencies_ms=[100.0])])
    for i in range(1, 4):
        text = new_text(text, [make_result(latencies_ms=[100.0 + i])], history=5)
    text = text.replace("## History\n", "## History\n\nA note of mine.\n")
    out = new_text(text, [make_result(latencies_ms=[200.0])], history=1)
    assert len(rows_of(out, dp.HISTORY)) == 1
    assert "A note of mine." in out


# ---- hand edits -----------------------------------------------------------------------
def doc_with(table_lines: list[str], before: str = "", after: str = "") -> str:
    body = "\n".join(table_lines)
    return (
        f"{before}{dp.marker(dp.RESULTS, 'begin')}\n{body}\n{dp.marker(dp.RESULTS, 'end')}\n{after}"
    )


def test_reordered_extra_and_missing_columns() -> None:
    text = doc_with(
        [
            "| Hardware | My notes | Model | Backend | RTF |",
            "|---|---|---|---|---|",
            "| AMD EPYC 7763 (16 cores) | keep me | kokoro | onnx | 0.9 |",
        ]
    )
    out = new_text(text, [make_result()])
    assert "| AMD EPYC 7763 (16 cores) | keep me | kokoro | onnx | 0.210 |" in out
    assert "TTFA" not in out.split(dp.marker(dp.HISTORY, "begin"))[0]  # no column re-added


def test_escaped_pipe_in_a_key_cell_matches() -> None:
    text = doc_with(
        [
            "| Model | Backend | Hardware | n |",
            "|---|---|---|---|",
            r"| my\|tts | onnx | box \| 8 GB | 1 |",
        ]
    )
    out = update(text, [make_result("my|tts", "onnx", "box | 8 GB")])
    assert out.updated == [(HEAD, ("my|tts", "onnx", "box | 8 GB"))]
    assert out.added == []
    assert r"| my\|tts | onnx | box \| 8 GB | 5 |" in (out.text or "")


def test_user_text_in_keys_cannot_break_the_table() -> None:
    nasty = make_result("evil|model\nwith `ticks`", "onnx", "<!-- ttsbench:results:end -->")
    text = new_text(None, [nasty, make_result()])
    rows = rows_of(text)
    assert len(rows) == 2
    assert all(len(r.cells) == len(sec.HEADLINE.columns) for r in rows)
    [key] = [r.key for r in rows if r.key != KOKORO]
    assert update(text, [nasty]).unchanged == [(HEAD, key)]  # it reads back


def test_empty_key_parts_still_read_back() -> None:
    blank = make_result("", "onnx", " \n ")
    text = new_text(None, [blank])
    assert "| ? | onnx | ? |" in text
    assert update(text, [blank]).unchanged == [(HEAD, ("?", "onnx", "?"))]


def test_short_row_is_matched_and_long_row_keeps_its_extra_cells() -> None:
    text = doc_with(
        [
            "| Model | Backend | Hardware | n | Date |",
            "|---|---|---|---|---|",
            "| kokoro | onnx | AMD EPYC 7763 (16 cores) |",
            "| marvis | mlx | Apple M3 Max | 1 | 2024-01-01 | mine | also mine |",
        ]
    )
    out = update(text, [make_result(), make_result("marvis", "mlx", "Apple M3 Max")])
    assert out.text is not None
    assert "| kokoro | onnx | AMD EPYC 7763 (16 cores) | 5 | 2025-01-31 |" in out.text
    assert "| marvis | mlx | Apple M3 Max | 5 | 2025-01-31 | mine | also mine |" in out.text
    assert any("lines 4, 5" in w and "number of cells" in w for w in out.warnings)


def test_row_too_short_for_its_key_is_kept_and_named() -> None:
    text = doc_with(["| Model | Backend | Hardware |", "|---|---|---|", "| kokoro | onnx |"])
    out = update(text, [make_result()])
    assert out.text is not None
    assert "| kokoro | onnx |\n" in out.text
    assert out.added == [(HEAD, KOKORO)]
    assert any(
        w.startswith("line 4 in the results table could not be parsed") for w in out.warnings
    )


def test_blank_lines_inside_the_table_are_removed_others_kept() -> None:
    text = doc_with(
        [
            "| Model | Backend | Hardware |",
            "|---|---|---|",
            "| a | b | c |",
            "",
            "",
            "| d | e | f |",
            "",
            "![chart](x.svg)",
        ]
    )
    out = update(text, [])
    assert out.text is not None
    assert "| a | b | c |\n| d | e | f |\n\n![chart](x.svg)\n" in out.text
    assert any("removed blank lines 5, 6" in w for w in out.warnings)


def test_crlf_is_preserved() -> None:
    base = new_text("# Title\n\nSome text.\n", sample_results()).replace("\n", "\r\n")
    out = new_text(base, [faster_kokoro(), make_result("new", "pt", "x")], when=LATER)
    assert "\n" not in out.replace("\r\n", "")
    kept = [line for line in base.split("\r\n") if "kokoro | onnx | AMD" not in line]
    assert all(line in out.split("\r\n") for line in kept)


def test_mixed_endings_keep_each_line_and_use_the_majority_for_new_lines() -> None:
    base = new_text(None, [make_result()]).replace("\n", "\r\n").replace("# TTS", "#\nTTS", 1)
    out = new_text(base, [make_result("zz", "pt", "x")])
    assert "#\nTTS" in out
    assert "| zz | pt | x |" in out
    [new_row] = [line for line in dp.split_lines(out) if line.startswith("| zz | pt | x |")]
    assert new_row.endswith("|\r\n")


def test_bom_is_kept_and_markers_still_found() -> None:
    base = "\ufeff" + dp.marker(dp.RESULTS, "begin") + "\n" + dp.marker(dp.RESULTS, "end") + "\n"
    out = new_text(base, [make_result()])
    assert out.startswith("\ufeff" + dp.marker(dp.RESULTS, "begin"))
    assert [r.key for r in rows_of(out)] == [KOKORO]


def test_block_without_table_gets_a_fresh_one_and_keeps_its_text() -> None:
    text = doc_with(["I deleted the table, sorry."])
    out = new_text(text, [make_result()])
    assert "I deleted the table, sorry.\n\n| Model | Backend |" in out
    assert [r.key for r in rows_of(out)] == [KOKORO]


def test_new_rows_go_in_key_order_without_moving_existing_rows() -> None:
    text = doc_with(
        [
            "| Model | Backend | Hardware |",
            "|---|---|---|",
            "| zeta | pt | x |",
            "| alpha | pt | x |",
        ]
    )
    out = new_text(text, [make_result("beta", "pt", "x"), make_result("omega", "pt", "x")])
    order = [r.key[0] for r in rows_of(out)]
    assert order == ["beta", "omega", "zeta", "alpha"]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda t: t.replace(dp.marker(dp.RESULTS, "end"), ""), "has no <!-- ttsbench:results:end"),
        (lambda t: t.replace(dp.marker(dp.RESULTS, "begin"), ""), "has no <!-- ttsbench:results:b"),
        (lambda t: t + dp.marker(dp.RESULTS, "begin") + "\n", "2 results markers"),
        (
            lambda t: t.replace(dp.marker(dp.RESULTS, "begin"), "<!-- ttsbench:results:begin"),
            "looks like a damaged ttsbench marker",
        ),
        (
            lambda t: (
                t.replace(dp.marker(dp.RESULTS, "begin"), "X")
                .replace(dp.marker(dp.RESULTS, "end"), dp.marker(dp.RESULTS, "begin"))
                .replace("X", dp.marker(dp.RESULTS, "end"))
            ),
            "comes before",
        ),
        (lambda t: t.replace("| Hardware |", "| Box |", 1), "has no Hardware column"),
        (
            lambda t: (
                t.replace(dp.marker(dp.RESULTS, "end"), dp.marker(dp.HISTORY, "begin"))
                + dp.marker(dp.RESULTS, "end")
                + "\n"
                + dp.marker(dp.HISTORY, "end")
                + "\n"
            ),
            "overlap",
        ),
    ],
)
def test_damaged_docs_are_refused(damage: Callable[[str], str], why: str) -> None:
    base = new_text(None, [make_result()])
    damaged = damage(base)
    out = update(damaged, [faster_kokoro()])
    assert out.text is None
    assert out.unsafe is not None
    assert why in out.unsafe


def test_a_marker_named_inside_a_table_row_is_not_damage() -> None:
    base = new_text(None, [make_result("m", "pt", "<!-- ttsbench:history:begin -->")])
    assert update(base, [make_result()]).text is not None
