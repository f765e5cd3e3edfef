"""The results tables' cells, columns, formats, which table a result goes to, and the
one-row-per-key rule."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import sections as sec
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.results.metrics import fmt_mb, fmt_ms, fmt_ratio, fmt_s
from tests.unit import report_support as rs
from tests.unit.report_support import make_result

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult


@pytest.mark.parametrize(
    ("line", "cells"),
    [
        ("| a | b |", ["a", "b"]),
        ("a | b", ["a", "b"]),
        ("| a | b", ["a", "b"]),
        ("a | b |", ["a", "b"]),
        (r"| a \| b | c |", [r"a \| b", "c"]),
        (r"| a \\| b |", [r"a \\", "b"]),
        ("| | b |", ["", "b"]),
        ("|", []),
        ("no pipe here", None),
        ("| a | b |\r\n", ["a", "b"]),
    ],
)
def test_split_row(line: str, cells: list[str] | None) -> None:
    assert tb.split_row(line) == cells


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None, database=None)
def test_escaped_cell_reads_back_as_the_cleaned_text(text: str) -> None:
    cell = tb.escape_cell(text)
    row = tb.render_row(["x", cell, "y"])
    assert "\n" not in row
    assert "\r" not in row
    assert tb.split_row(row) == ["x", cell, "y"]
    assert tb.unescape_cell(cell) == tb.clean_text(text)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("my|model", r"my\|model"),
        ("two\nlines", "two lines"),
        ("`code`", r"\`code\`"),
        ("<!-- ttsbench:results:end -->", r"\<!-- ttsbench:results:end -->"),
        ("back\\slash", "back\\\\slash"),
        ("  padded\t", "padded"),
        ("\ud800lone", "\ufffdlone"),
        # what GitHub renders in a cell, written so it shows as the text
        ("[l](javascript:alert(1))", r"\[l](javascript:alert(1))"),
        ("**z**", r"\*\*z\*\*"),
        ("_z_", r"\_z\_"),
        ("~~z~~", r"\~\~z\~\~"),
        ("&amp; $x$", r"\&amp; \$x\$"),
        ("www.example.com", r"www\.example\.com"),
        ("http://x.io/a", r"http:\//x\.io/a"),
        ("a@b.co", r"a\@b\.co"),
        # and what it does not: left as written
        ("test_latency", "test_latency"),
        ("speed=1.25, voice=af_heart", "speed=1.25, voice=af_heart"),
        ("Xeon(R) Processor @ 2.10GHz", "Xeon(R) Processor @ 2.10GHz"),
        ("ttfa_ms.p95 312 > 300", "ttfa_ms.p95 312 > 300"),
        ("kokoro-onnx 0.6.1, onnxruntime 1.20.1", "kokoro-onnx 0.6.1, onnxruntime 1.20.1"),
    ],
)
def test_escape_cell(value: str, escaped: str) -> None:
    assert tb.escape_cell(value) == escaped


@pytest.mark.parametrize(
    ("header", "cid"),
    [
        ("Model", "model"),
        ("  MODEL ", "model"),
        ("TTFA p50 (ms)", "ttfa_p50"),
        ("ttfa p50", "ttfa_p50"),
        ("RTF p50 (lower is better)", "rtf_p50"),
        ("RTF", "rtf_p50"),
        ("Accel peak (MB)", "accel_peak"),
        ("My notes", None),
    ],
)
def test_column_names_are_matched_loosely(header: str, cid: str | None) -> None:
    assert col.column_id(header) == cid


def test_every_header_and_alias_names_one_column() -> None:
    for column in col.all_columns():
        for name in (column.header, *column.aliases):
            assert col.column_id(name) == column.id, name


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ([], "none"),
        (["pass", "pass"], "pass (2/2)"),
        (["pass", "inconclusive"], "inconclusive (1/2)"),
        (["inconclusive", "fail", "pass"], "fail (1/3)"),
        (["weird"], "unknown (1)"),
    ],
)
def test_gate_verdict(outcomes: list[str], verdict: str) -> None:
    assert tb.gate_verdict([rs.verdict(o) for o in outcomes]) == verdict


def test_formats() -> None:
    assert [fmt_ms(v) for v in (None, 1234.56, 45.67, 4.567)] == ["n/a", "1235", "45.7", "4.57"]
    assert [fmt_ratio(v) for v in (None, 0.12345, 250.0)] == ["n/a", "0.123", "250.0"]
    assert [fmt_mb(v) for v in (None, 0.0, 812.4)] == ["n/a", "0", "812"]
    assert [fmt_s(v) for v in (None, 1.234, 12.34)] == ["n/a", "1.23", "12.3"]
    assert tb.parse_float("12.5") == 12.5
    assert tb.parse_float("5 (contended, 2 workers)") == 5.0
    assert tb.parse_float("n/a") is None


def cells(result: BenchResult, section: sec.Section = sec.HEADLINE) -> dict[str, str]:
    return col.cells_for(tb.Entry(result, "2025-01-31", "0.1.0"), section.columns)


def test_accelerator_memory_is_na_not_zero_when_unknown() -> None:
    assert cells(make_result(accel_peak_mb=None))["accel_peak"] == "n/a"


def test_row_cells_carry_key_variant_and_contention() -> None:
    r = make_result(variant="fp32", default_variant=False, xdist_workers=3, suite="streaming")
    r = replace(r, params={"mode": "native", "chunk": 4})
    got = cells(r, sec.suite_section("streaming"))
    assert got["model"] == "kokoro (fp32)"
    assert got["n"] == "5 (contended, 3 workers)"
    assert got["prompt"] == "medium"
    assert got["params"] == "chunk=4, mode=native"
    assert got["rtf_p50"] == "0.210"
    assert got["versions"] == "kokoro-onnx 0.4.9"
    assert cells(make_result())["rtf_p50"] == "0.210"


def test_one_row_per_key_prefers_a_good_run_then_the_newest_session_then_the_first() -> None:
    a, b, c = make_result(), make_result(), make_result()
    failed = make_result(outcome="failed")
    entries = [
        tb.Entry(a, "d", "v", "2025-01-01T00:00:00+00:00"),
        tb.Entry(b, "d", "v", "2025-02-01T00:00:00+00:00"),
        tb.Entry(c, "d", "v", "2025-02-01T00:00:00+00:00"),
        tb.Entry(failed, "d", "v", "2025-03-01T00:00:00+00:00"),
    ]
    assert sec.select(entries)[sec.HEADLINE][0].result is b
    empty = make_result(latencies_ms=[])
    assert sec.select([tb.Entry(empty, "d", "v"), entries[0]])[sec.HEADLINE][0].result is a


def test_selected_rows_are_sorted_by_key_case_insensitively() -> None:
    results = [make_result("b"), make_result("B"), make_result("a")]
    chosen = sec.select(tb.Entry(r, "d", "v") for r in results)[sec.HEADLINE]
    assert [e.result.target.model for e in chosen] == ["a", "B", "b"]  # "B" would sort first
