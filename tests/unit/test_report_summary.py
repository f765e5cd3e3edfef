"""Terminal table and GitHub step summary: golden renders and the contended mark."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ttsbench.report import summary
from tests.unit.report_support import assert_golden, make_result, sample_results

if TYPE_CHECKING:
    from pathlib import Path


def test_golden_terminal_table() -> None:
    assert_golden("terminal_table.md", summary.terminal_table(sample_results()) + "\n")


def test_golden_step_summary() -> None:
    assert_golden("step_summary.md", summary.github_step_summary(sample_results()))


def test_terminal_table_says_which_way_is_better_and_marks_contention() -> None:
    text = summary.terminal_table([make_result(xdist_workers=4), make_result(prompt="short")])
    lines = text.splitlines()
    assert "RTF p50" in lines[0]
    assert "(lower is better)" in lines[1]
    assert "(higher is better)" in lines[1]  # RTFx
    assert lines[3].startswith("test_latency[kokoro-onnx-cpu-medium]*")
    assert lines[4].startswith("test_latency[kokoro-onnx-cpu-short] ")
    assert lines[5] == (
        "* contended: timed while 4 pytest-xdist workers ran in parallel; "
        "compare such rows only with each other"
    )


def test_no_results_no_table() -> None:
    assert summary.terminal_table([]) == ""
    assert summary.github_step_summary([]) == "### pytest-ttsbench: 0 results\n\n"


def test_step_summary_cells_are_escaped() -> None:
    text = summary.github_step_summary([make_result("my|model", hardware="x")])
    row = text.splitlines()[4]
    assert row.startswith(r"| test_latency\[my\|model-onnx-cpu-medium] | medium |")


def test_append_step_summary_only_when_github_says_where(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert summary.append_step_summary("# x", env={}) is None
    assert summary.append_step_summary("# x", env={"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text(encoding="utf-8") == "earlier step\n# x\n"
